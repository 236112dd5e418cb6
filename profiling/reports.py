"""Segment reports for planners, rolled up community → street → district, with small-cell suppression.

Each level has one row per unit (with its Chinese name and its parent's id): ``residents``, the count and
share of each persona (``persona_<name>``, ``share_<name>``), the count of each segment (``segment_<id>``)
and ``top_categories``, the most used service categories (by ``use`` events).

Suppression, in plain words (k defaults to 10):

1. Primary: every count below k (zero included) is replaced by ``None``, and so is its share. A row whose
   ``residents`` is below k is suppressed whole.
2. Segment counts add up to ``residents``. When exactly one segment count of a row is suppressed, the next
   smallest one is suppressed too, so the hidden count cannot be had as total minus the others.
3. Units add up to their parent (communities to their street, streets to their district, districts to the
   whole dataset). When exactly one unit of a parent has a column suppressed, the smallest other unit of that
   parent loses that cell too, so it cannot be had as parent minus siblings.
   Rules 2 and 3 repeat until nothing changes.
4. A service category is listed in ``top_categories`` only when at least k residents of the unit used it.

With differential privacy (``build_reports(..., dp=...)``, from ``LINLI_PLANNER_EPSILON``) every count is noisy
first (:mod:`profiling.private_tables`) and these rules run on the noisy counts.

The names of the suppressed columns of each row are in its ``suppressed`` column. Not covered: differencing
across two reports made at different times, and complements (a persona count close to ``residents``).

Two long tables serve the planner page (:mod:`profiling.demand`), suppressed by the same rules 1 and 3:
``usage`` (per unit, persona and service category: users, uses, mean rating, demand and unmet demand) and
``monthly`` (per unit and month: active residents by persona).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.columns import Columns, Vocab
from features.dataset import Dataset
from profiling.config import ReportConfig
from profiling.suppression import suppression_mask

if TYPE_CHECKING:
    from privacy.dp import PlannerDp

LEVELS: tuple[tuple[str, str, str | None], ...] = (
    (Columns.COMMUNITY, Columns.COMMUNITY_NAME, Columns.STREET),
    (Columns.STREET, Columns.STREET_NAME, Columns.DISTRICT),
    (Columns.DISTRICT, Columns.DISTRICT_NAME, None),
)


@dataclass(frozen=True)
class SegmentReport:
    """Suppressed aggregate tables at three levels.

    Attributes
    ----------
    community, street, district : pandas.DataFrame
        One row per unit; suppressed cells are ``None`` and listed in the row's ``suppressed`` column.
    k : int
        The suppression threshold used.
    usage, monthly : pandas.DataFrame
        The planner page's long tables (see :func:`profiling.demand.usage_table`); empty in bundles made before
        they existed.
    privacy : dict, optional
        With differential privacy (:mod:`privacy.dp`): ε, each table's ε, sensitivity and Laplace scale, the data
        version and ``segment_totals`` (noisy residents per segment); ``None`` when the counts are exact.
    """

    community: pd.DataFrame
    street: pd.DataFrame
    district: pd.DataFrame
    k: int
    usage: pd.DataFrame = field(default_factory=pd.DataFrame)
    monthly: pd.DataFrame = field(default_factory=pd.DataFrame)
    privacy: dict[str, Any] | None = None

    def level(self, name: str) -> pd.DataFrame:
        """The table of one level: ``"community"``, ``"street"`` or ``"district"``."""
        if name not in ("community", "street", "district"):
            raise ValueError(f"unknown report level {name!r}; use community, street or district")
        return getattr(self, name)

    def to_records(self, name: str) -> list[dict[str, object]]:
        """Rows of one level as JSON-ready dicts; suppressed cells read ``"<k"`` (e.g. ``"<10"``)."""
        return self._marked(self.level(name).reset_index())

    def long_records(self, table: str, level: str, unit_id: str) -> list[dict[str, object]]:
        """Rows of ``usage`` or ``monthly`` for one unit; suppressed cells read ``"<k"``."""
        frame = getattr(self, table, None)
        if frame is None or frame.empty:
            return []
        frame = frame[(frame["level"] == level) & (frame["unit_id"] == unit_id)]
        return self._marked(frame.drop(columns=["level", "unit_id"]))

    def _marked(self, frame: pd.DataFrame) -> list[dict[str, object]]:
        return marked_records(frame, self.k)

    def geography(self) -> pd.DataFrame:
        """``community_id, street_id, district_id`` of every community in the report."""
        streets = self.street[Columns.DISTRICT] if Columns.DISTRICT in self.street else pd.Series(dtype=object)
        frame = pd.DataFrame({Columns.COMMUNITY: self.community.index.astype(str),
                              Columns.STREET: self.community[Columns.STREET].astype(str).to_numpy()})
        frame[Columns.DISTRICT] = streets.astype(str).reindex(frame[Columns.STREET]).to_numpy()
        return frame


def marked_records(frame: pd.DataFrame, k: int) -> list[dict[str, object]]:
    """``frame``'s rows as dicts without ``suppressed``; the cells it names read ``"<k"`` (e.g. ``"<10"``)."""
    marker = f"<{k}"
    records = []
    for row in frame.to_dict(orient="records"):
        hidden = set(row.pop("suppressed"))
        records.append({key: (marker if key in hidden else value) for key, value in row.items()})
    return records


def build_reports(
    dataset: Dataset, tags: pd.DataFrame, segments: pd.Series, config: ReportConfig | None = None,
    dp: PlannerDp | None = None,
) -> SegmentReport:
    """Aggregate personas, segments and service use per community, street and district.

    Parameters
    ----------
    dataset : Dataset
        Residents, communities, services and the interactions to count (already cut at the profile's cutoff).
    tags : pandas.DataFrame
        Boolean resident × persona frame indexed by resident id.
    segments : pandas.Series
        Segment id per resident id.
    config : ReportConfig, optional
        ``k`` and ``top_categories``.
    dp : privacy.dp.PlannerDp, optional
        Release every count with Laplace noise (:mod:`profiling.private_tables`); ``None``: exact counts.

    Returns
    -------
    SegmentReport
    """
    cfg = config or ReportConfig()
    geo = dataset.resident_geography().set_index(Columns.RESIDENT)
    residents = pd.DataFrame(index=tags.index)
    for unit, _, _ in LEVELS:
        residents[unit] = geo[unit].reindex(tags.index).astype(object).to_numpy()
    n_segments = int(segments.max()) + 1 if len(segments) else 0
    counts = pd.DataFrame({"residents": np.ones(len(tags), dtype=np.int64)}, index=tags.index)
    for persona in tags.columns:
        counts[f"persona_{persona}"] = tags[persona].to_numpy(dtype=np.int64)
    seg = segments.reindex(tags.index).to_numpy(dtype=np.int64)
    for s in range(n_segments):
        counts[f"segment_{s}"] = (seg == s).astype(np.int64)
    names = _names(dataset.communities)
    from profiling.demand import monthly_table, usage_table  # imports this module's suppression

    if dp is not None:
        from profiling.private_tables import private_tables

        release = private_tables(dataset, tags, residents, counts, cfg, dp)
        sums, tops, long_usage, monthly = release.sums, release.tops, release.usage, release.monthly
    else:
        used = _category_users(dataset, residents)
        sums, tops = {}, {}
        for unit, _, parent in LEVELS:
            keys = [unit] if parent is None else [unit, parent]
            sums[unit] = counts.groupby([residents[k] for k in keys]).sum()
            sums[unit].index.names = keys
            tops[unit] = _top_categories(used, unit, cfg.k, cfg.top_categories)
        long_usage = usage_table(dataset, tags, residents, cfg.k)
        monthly = monthly_table(dataset, tags, residents, cfg.k)
    tables = {unit: _suppressed_table(sums[unit].reset_index(), unit, name_col, parent, names, tops[unit], cfg)
              for unit, name_col, parent in LEVELS}
    return SegmentReport(tables[Columns.COMMUNITY], tables[Columns.STREET], tables[Columns.DISTRICT], cfg.k,
                         usage=long_usage, monthly=monthly, privacy=release.privacy if dp is not None else None)


def _names(communities: pd.DataFrame) -> dict[str, pd.Series]:
    out = {}
    for unit, name_col, _ in LEVELS:
        if name_col in communities:
            out[unit] = communities.drop_duplicates(unit).set_index(unit)[name_col].astype(object)
        else:
            out[unit] = pd.Series(dtype=object)
    return out


def _category_users(dataset: Dataset, residents: pd.DataFrame) -> pd.DataFrame:
    """Uses and distinct users per (resident, category) of ``use`` events, with the resident's units."""
    events = dataset.interactions
    is_use = events[Columns.EVENT].astype(object).to_numpy() == "use"
    used = events.loc[is_use, [Columns.RESIDENT, Columns.SERVICE]]
    category = dataset.services.set_index(Columns.SERVICE)[Columns.CATEGORY].astype(object)
    used = used.assign(**{Columns.CATEGORY: category.reindex(used[Columns.SERVICE].to_numpy()).to_numpy()})
    per_resident = (used.groupby([Columns.RESIDENT, Columns.CATEGORY], observed=True).size()
                    .rename("uses").reset_index())
    rows = residents.index.get_indexer(per_resident[Columns.RESIDENT].to_numpy(dtype=object))
    per_resident = per_resident[rows >= 0].copy()
    for unit in residents.columns:
        per_resident[unit] = residents[unit].to_numpy()[rows[rows >= 0]]
    return per_resident


def _top_categories(usage: pd.DataFrame, unit: str, k: int, top: int) -> pd.Series:
    grouped = usage.groupby([unit, Columns.CATEGORY]).agg(uses=("uses", "sum"),
                                                          users=(Columns.RESIDENT, "size"))
    grouped = grouped[grouped["users"] >= k].reset_index()
    order = sorted(Vocab.SERVICE_CATEGORIES)
    grouped["_tie"] = grouped[Columns.CATEGORY].map({c: i for i, c in enumerate(order)})
    grouped = grouped.sort_values([unit, "uses", "_tie"], ascending=[True, False, True])
    return grouped.groupby(unit)[Columns.CATEGORY].agg(lambda s: list(s.iloc[:top]))


def _suppressed_table(summed: pd.DataFrame, unit: str, name_col: str, parent: str | None,
                      names: dict[str, pd.Series], top: pd.Series, cfg: ReportConfig) -> pd.DataFrame:
    count_cols = [c for c in summed.columns if c == "residents" or c.startswith(("persona_", "segment_"))]
    values = summed[count_cols].to_numpy(dtype=np.int64)
    parents = summed[parent].to_numpy(dtype=object) if parent else np.zeros(len(summed), dtype=object)
    segment_cols = [j for j, c in enumerate(count_cols) if c.startswith("segment_")]
    hidden = suppression_mask(values, parents, segment_cols, cfg.k)
    out = pd.DataFrame({unit: summed[unit].to_numpy(dtype=object)})
    out[name_col] = names[unit].reindex(out[unit]).to_numpy()
    if parent:
        out[parent] = parents
        parent_name = next(n for u, n, _ in LEVELS if u == parent)
        out[parent_name] = names[parent].reindex(parents).to_numpy()
    residents = values[:, 0].astype(float)
    for j, col in enumerate(count_cols):
        out[col] = pd.Series(values[:, j], dtype=object).where(~hidden[:, j], None)
        if col.startswith("persona_"):
            share = np.round(np.minimum(values[:, j] / np.maximum(residents, 1), 1.0), 4)  # noisy may pass 1
            shown = pd.Series(share, dtype=object).where(~hidden[:, j], None)
            out["share_" + col.removeprefix("persona_")] = shown
    out["top_categories"] = [list(top.get(u, [])) if values[i, 0] >= cfg.k else []
                             for i, u in enumerate(out[unit])]
    share_of = {f"share_{c.removeprefix('persona_')}": j for j, c in enumerate(count_cols)
                if c.startswith("persona_")}
    columns = count_cols + list(share_of)
    col_index = {c: j for j, c in enumerate(count_cols)} | share_of
    out["suppressed"] = [tuple(c for c in columns if hidden[i, col_index[c]]) for i in range(len(out))]
    return out.set_index(unit)
