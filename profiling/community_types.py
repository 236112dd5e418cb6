"""Community typing from the persona composition of each community's residents.

A community is 老龄型 ageing, 亲子型 young_family, 上班族 commuter or 流动人口聚居 migrant_heavy when the
share of the matching persona among its residents is well above that persona's share over all residents
(at least ``min_lift`` times it and ``min_margin`` more); when several qualify, the largest lift wins, and
when none does it is 混合型 mixed. The shares and lifts that decided are returned with the type.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.columns import Columns
from profiling.config import CommunityTypeConfig

#: community type → (persona that decides it, Chinese name)
COMMUNITY_TYPES: dict[str, tuple[str | None, str]] = {
    "ageing": ("elderly", "老龄型"),
    "young_family": ("family_with_children", "亲子型"),
    "commuter": ("commuter", "上班族"),
    "migrant_heavy": ("migrant", "流动人口聚居"),
    "mixed": (None, "混合型"),
}


def type_communities(
    tags: pd.DataFrame,
    residents: pd.DataFrame,
    communities: pd.DataFrame | None = None,
    config: CommunityTypeConfig | None = None,
) -> pd.DataFrame:
    """Give every community a type from its residents' personas.

    Parameters
    ----------
    tags : pandas.DataFrame
        Boolean resident × persona frame indexed by resident id (:attr:`PersonaTags.tags`).
    residents : pandas.DataFrame
        With ``resident_id`` and ``community_id`` columns (the dataset's residents table).
    communities : pandas.DataFrame, optional
        The communities table; adds ``community_name`` (Chinese) and lists communities without residents.
    config : CommunityTypeConfig, optional
        ``min_lift``, ``min_margin`` and ``min_residents``; defaults to the schema defaults.

    Returns
    -------
    pandas.DataFrame
        Indexed by community id: ``community_name``, ``residents``, ``community_type``,
        ``community_type_zh``, ``share_<persona>`` and ``lift_<persona>`` for the four deciding personas,
        and ``reason`` (e.g. ``"elderly 41% vs 22% overall (×1.9)"``).
    """
    cfg = config or CommunityTypeConfig()
    deciding = [(kind, persona) for kind, (persona, _) in COMMUNITY_TYPES.items() if persona is not None]
    persona_cols = [persona for _, persona in deciding]
    community_of = residents.set_index(Columns.RESIDENT)[Columns.COMMUNITY].reindex(tags.index)
    composition = tags[persona_cols].astype(float).groupby(community_of.to_numpy(dtype=object)).agg("sum")
    sizes = community_of.value_counts().reindex(composition.index).astype(float)
    ids = composition.index
    if communities is not None:
        listed = pd.Index(communities[Columns.COMMUNITY].astype(object))
        ids = listed.append(ids.difference(listed))
    composition = composition.reindex(ids, fill_value=0.0)
    sizes = sizes.reindex(ids).fillna(0.0)
    overall = tags[persona_cols].mean().to_numpy(dtype=float) if len(tags) else np.zeros(len(persona_cols))
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = composition.to_numpy() / sizes.to_numpy()[:, None]
        lifts = np.where(overall > 0, shares / overall, np.nan)
    qualifies = ((lifts >= cfg.min_lift) & (shares - overall >= cfg.min_margin)
                 & (sizes.to_numpy() >= cfg.min_residents)[:, None])
    best = np.argmax(np.where(qualifies, lifts, -np.inf), axis=1)
    has_type = qualifies.any(axis=1)
    kinds = np.array([kind for kind, _ in deciding] + ["mixed"], dtype=object)
    chosen = np.where(has_type, best, len(deciding))
    out = pd.DataFrame(index=pd.Index(ids, name=Columns.COMMUNITY))
    if communities is not None:
        names = communities.set_index(Columns.COMMUNITY)[Columns.COMMUNITY_NAME]
        out[Columns.COMMUNITY_NAME] = names.reindex(ids).to_numpy()
    out["residents"] = sizes.to_numpy(dtype=np.int64)
    out["community_type"] = kinds[chosen]
    out["community_type_zh"] = [COMMUNITY_TYPES[k][1] for k in kinds[chosen]]
    for j, persona in enumerate(persona_cols):
        out[f"share_{persona}"] = shares[:, j]
        out[f"lift_{persona}"] = lifts[:, j]
    out["reason"] = [_reason(i, chosen[i], persona_cols, shares, overall, lifts, sizes.iloc[i], cfg)
                     for i in range(len(ids))]
    return out


def _reason(i: int, chosen: int, personas: list[str], shares: np.ndarray, overall: np.ndarray,
            lifts: np.ndarray, size: float, cfg: CommunityTypeConfig) -> str:
    if size < cfg.min_residents:
        return f"{size:.0f} residents < {cfg.min_residents}: too few to type"
    if chosen < len(personas):
        j = chosen
        return f"{personas[j]} {shares[i, j]:.0%} vs {overall[j]:.0%} overall (×{lifts[i, j]:.1f})"
    j = int(np.nanargmax(np.nan_to_num(lifts[i], nan=-np.inf))) if np.isfinite(lifts[i]).any() else 0
    return (f"no persona share ≥ ×{cfg.min_lift:.1f} overall; highest {personas[j]} "
            f"{shares[i, j]:.0%} vs {overall[j]:.0%} (×{np.nan_to_num(lifts[i, j]):.1f})")
