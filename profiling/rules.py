"""Transparent persona rules: multi-label tags, each with its reason in words and the value that decided it.

Every persona has a primary rule on a recorded field (age, children, employment, residency, accessibility)
and fallbacks for residents whose field is missing, on other fields or on behaviour (shares of events by
service category and time of day). The first rule that fires gives the reason, e.g. ``"age 71 ≥ 60"``,
``"floating residency"`` or ``"employed, 72% of events at weekday peaks"``. Thresholds come from
:class:`~profiling.config.PersonaRulesConfig` (``profiling/personas.toml``).

The input is the resident-feature frame of :mod:`features.pipeline` (one row per resident, indexed by
resident id); absent columns count as unknown, so a source without optional fields still gets tags.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.columns import Vocab
from profiling.config import PersonaRulesConfig

#: Human names of service categories, used in reasons.
CATEGORY_WORDS: dict[str, str] = {
    "elderly_care": "elderly care",
    "childcare": "childcare",
    "employment": "employment services",
    "accessibility": "accessibility services",
    "youth_study": "youth and study services",
}

_Text = Callable[[np.ndarray], list[str]]


@dataclass(frozen=True)
class PersonaTags:
    """Persona tags of residents and why each was given.

    Attributes
    ----------
    tags : pandas.DataFrame
        Boolean, resident × persona (columns in ``Vocab.PERSONAS`` order), indexed by resident id.
    reasons : pandas.DataFrame
        Same shape; the reason in words where the tag is set, ``None`` elsewhere.
    """

    tags: pd.DataFrame
    reasons: pd.DataFrame

    def counts(self) -> dict[str, int]:
        """Number of residents carrying each persona."""
        return {str(p): int(n) for p, n in self.tags.sum().items()}

    def reasons_for(self, resident_id: str) -> list[str]:
        """The reasons of one resident, as ``"persona: reason"`` lines (empty when no persona applies).

        Raises
        ------
        KeyError
            If the resident is not in the frame.
        """
        row = self.reasons.loc[resident_id]
        return [f"{persona}: {reason}" for persona, reason in row.items() if reason is not None]

    def reason_lists(self) -> pd.Series:
        """Per resident, the list of ``"persona: reason"`` lines."""
        values = self.reasons.to_numpy(dtype=object)
        names = list(self.reasons.columns)
        lists = [[f"{names[j]}: {r}" for j, r in enumerate(row) if r is not None] for row in values]
        return pd.Series(lists, index=self.reasons.index, name="reasons", dtype=object)


class PersonaRules:
    """Rule-based persona tagger (stateless; ``fit`` exists so it composes in scikit-learn pipelines).

    Parameters
    ----------
    config : PersonaRulesConfig, optional
        Thresholds; the defaults equal those in the shipped ``profiling/personas.toml``.

    Examples
    --------
    >>> tags = PersonaRules().tag(features)           # doctest: +SKIP
    >>> tags.reasons_for("R000001")                   # doctest: +SKIP
    ['elderly: age 71 ≥ 60', 'migrant: floating residency']
    """

    def __init__(self, config: PersonaRulesConfig | None = None) -> None:
        self.config = config

    def fit(self, features: pd.DataFrame, y: object = None) -> PersonaRules:
        """Do nothing (rules learn nothing) and return ``self``."""
        return self

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        """The boolean resident × persona frame of :meth:`tag`."""
        return self.tag(features).tags

    def tag(self, features: pd.DataFrame) -> PersonaTags:
        """Tag every resident of a resident-feature frame.

        Parameters
        ----------
        features : pandas.DataFrame
            Resident features indexed by resident id (columns as produced by ``features.pipeline``).

        Returns
        -------
        PersonaTags
        """
        cfg = self.config or PersonaRulesConfig()
        f = _Fields(features, cfg.min_events, cfg.uninformative_employment)
        tags: dict[str, np.ndarray] = {}
        reasons: dict[str, np.ndarray] = {}
        for persona in Vocab.PERSONAS:
            tags[persona], reasons[persona] = _apply(_BUILDERS[persona](f, cfg), len(features))
        return PersonaTags(pd.DataFrame(tags, index=features.index),
                           pd.DataFrame(reasons, index=features.index, dtype=object))


class _Fields:
    """Column access with missing columns read as unknown (NaN), as float arrays."""

    def __init__(self, features: pd.DataFrame, min_events: int, uninformative: tuple[str, ...]) -> None:
        self._features = features
        self._cache: dict[str, np.ndarray] = {}
        self.n = len(features)
        self.active = self["n_events"] >= min_events
        statuses = np.column_stack([self[f"employment_{s}"] == 1 for s in Vocab.EMPLOYMENT])
        known = statuses.any(axis=1)  # the one-hot columns are all 0 when the status is unknown
        #: employment word per resident: a status, or "unknown"
        self.employment = np.where(known, np.asarray(Vocab.EMPLOYMENT, dtype=object)[statuses.argmax(axis=1)],
                                   "unknown")
        self.employment_unknown = ~known | np.isin(self.employment, uninformative)

    def employment_in(self, statuses: tuple[str, ...]) -> np.ndarray:
        return np.isin(self.employment, statuses)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._features:
            return np.full(self.n, np.nan)
        if name not in self._cache:
            self._cache[name] = pd.to_numeric(self._features[name], errors="coerce").to_numpy(
                dtype=float, na_value=np.nan)
        return self._cache[name]

    def is_one(self, name: str) -> np.ndarray:
        return self[name] == 1

    def unknown(self, name: str) -> np.ndarray:
        return np.isnan(self[name])

    def share_at_least(self, category: str, threshold: float) -> np.ndarray:
        return self.active & (self[f"share_{category}"] >= threshold)


def _apply(branches: list[tuple[np.ndarray, _Text]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """OR the branch masks; the first branch that fires gives the reason."""
    tagged = np.zeros(n, dtype=bool)
    reason = np.full(n, None, dtype=object)
    for mask, text in branches:
        new = np.flatnonzero(mask & ~tagged)
        if new.size:
            reason[new] = np.asarray(text(new), dtype=object)
            tagged[new] = True
    return tagged, reason


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _share_text(prefix: str | np.ndarray, shares: np.ndarray, category: str) -> _Text:
    """``"<prefix>, 40% of events in <category>"``; ``prefix`` may be one text per resident."""
    words = CATEGORY_WORDS.get(category, category)
    prefixes = np.broadcast_to(np.asarray(prefix, dtype=object), shares.shape)
    return lambda idx: [f"{p}, {_pct(s)} of events in {words}"
                        for p, s in zip(prefixes[idx], shares[idx], strict=True)]


def _employment_words(f: _Fields, prefix: str = "") -> np.ndarray:
    return np.asarray(prefix + "employment " + f.employment.astype(object), dtype=object)


def _elderly(f: _Fields, cfg: PersonaRulesConfig) -> list[tuple[np.ndarray, _Text]]:
    rule = cfg.elderly
    age = f["age"]
    age_unknown = np.isnan(age)
    return [
        (age >= rule.min_age, lambda idx: [f"age {a:.0f} ≥ {rule.min_age}" for a in age[idx]]),
        (age_unknown & f.is_one("employment_retired") & rule.retired_when_age_unknown,
         lambda idx: ["age unknown, retired"] * idx.size),
        (age_unknown & f.employment_unknown & f.share_at_least("elderly_care", rule.min_share_elderly_care),
         _share_text(_employment_words(f, "age unknown, "), f["share_elderly_care"], "elderly_care")),
    ]


def _family(f: _Fields, cfg: PersonaRulesConfig) -> list[tuple[np.ndarray, _Text]]:
    rule = cfg.family_with_children
    children = f["children_under_18"]
    unknown = np.isnan(children) & ~(f["has_children"] >= 0)

    def counted(idx: np.ndarray) -> list[str]:
        return [f"{c:.0f} child under 18" if c == 1 else f"{c:.0f} children under 18" for c in children[idx]]

    return [
        (children >= rule.min_children, counted),
        (np.isnan(children) & f.is_one("has_children"), lambda idx: ["has children under 18"] * idx.size),
        (unknown & f.share_at_least("childcare", rule.min_share_childcare),
         _share_text("children unknown", f["share_childcare"], "childcare")),
    ]


def _commuter(f: _Fields, cfg: PersonaRulesConfig) -> list[tuple[np.ndarray, _Text]]:
    rule = cfg.commuter
    peak_share = f["weekday_peak_share"]
    hour = f["departure_hour"]
    low, high = rule.departure_hours
    departs = (hour >= low) & (hour <= high)
    off_peak = np.isfinite(hour) & ~departs
    morning = f["weekday_morning_share"]
    morning_ok = np.isnan(morning) | (morning >= rule.min_weekday_morning_share)  # NaN: not computed
    work_hours = f["weekday_work_hours_share"]
    away = np.isnan(work_hours) | (work_hours <= rule.max_weekday_work_hours_share)  # NaN: not computed
    peak = f.active & (peak_share >= rule.min_weekday_peak_share) & morning_ok & away & ~off_peak
    alone = f.active & (peak_share >= rule.peak_share_alone) & np.isnan(hour)
    other = f.is_one("works_other_district")
    recorded = departs | other
    words = _employment_words(f)
    employed = f.employment == "employed"

    def evidence(idx: np.ndarray) -> list[str]:
        out = []
        for i in idx:
            parts = ["employed" if employed[i] else words[i]]
            if peak[i] or alone[i]:
                parts.append(f"{_pct(peak_share[i])} of events at weekday peaks")
            if peak[i] and rule.min_weekday_morning_share > 0:
                parts.append(f"{_pct(morning[i])} on weekday mornings")
            if peak[i] and rule.max_weekday_work_hours_share < 1:
                parts.append(f"{_pct(work_hours[i])} in weekday working hours ≤ "
                             f"{_pct(rule.max_weekday_work_hours_share)}")
            if departs[i]:
                parts.append(f"leaves home at {hour[i]:.0f}:00")
            if other[i]:
                parts.append("works in another district")
            out.append(", ".join(parts))
        return out

    maybe = f.employment_unknown | f.employment_in(rule.recorded_commute_statuses)
    inactive = employed & ~f.active & ~off_peak & away & rule.inactive_employed
    return [(employed & (peak | recorded), evidence), (maybe & ~employed & (recorded | alone), evidence),
            (inactive, lambda idx: [f"employed, {n:.0f} events: too few to tell, most employed residents commute"
                                    for n in f["n_events"][idx]])]


def _migrant(f: _Fields, cfg: PersonaRulesConfig) -> list[tuple[np.ndarray, _Text]]:
    rule = cfg.migrant
    limit = rule.max_months_resident
    months = f["months_resident"]
    floating = f["is_floating"]
    applies = np.isnan(floating) | ((floating == 0) & rule.short_stay_when_registered)
    status = np.where(np.isnan(floating), "residency unknown", "registered")
    return [
        (floating == 1, lambda idx: ["floating residency"] * idx.size),
        (applies & (months <= limit),
         lambda idx: [f"{s}, {m:.0f} months resident ≤ {limit}"
                      for s, m in zip(status[idx], months[idx], strict=True)]),
    ]


def _accessibility(f: _Fields, cfg: PersonaRulesConfig) -> list[tuple[np.ndarray, _Text]]:
    threshold = cfg.accessibility_needs.min_share_accessibility
    return [
        (f.is_one("accessibility_need"), lambda idx: ["accessibility need recorded"] * idx.size),
        (f.unknown("accessibility_need") & f.share_at_least("accessibility", threshold),
         _share_text("need unknown", f["share_accessibility"], "accessibility")),
    ]


def _student(f: _Fields, cfg: PersonaRulesConfig) -> list[tuple[np.ndarray, _Text]]:
    rule = cfg.student
    age = f["age"]
    low, high = rule.ages
    shares = f["share_youth_study"]
    in_age = ((age >= low) & (age <= high)) | np.isnan(age)
    ages = np.where(np.isnan(age), "age unknown", np.char.add("age ", np.nan_to_num(age).astype(int).astype(str)))
    prefix = _employment_words(f) + ", " + ages.astype(object)
    return [
        (f.is_one("employment_student"), lambda idx: ["student"] * idx.size),
        (f.employment_unknown & in_age & f.share_at_least("youth_study", rule.min_share_youth_study),
         _share_text(prefix, shares, "youth_study")),
    ]


def _job_seeker(f: _Fields, cfg: PersonaRulesConfig) -> list[tuple[np.ndarray, _Text]]:
    rule = cfg.job_seeker
    age = f["age"]
    working_age = ~(age >= rule.max_age)
    share = f["share_employment"]
    threshold = rule.min_share_employment_when_unemployed
    undecided = ~f.active & rule.inactive_unemployed & (share <= 0)
    searching = (share >= threshold) | (threshold <= 0) | undecided

    def unemployed(idx: np.ndarray) -> list[str]:
        if threshold <= 0:
            return ["unemployed"] * idx.size
        return [f"unemployed, {_pct(share[i])} of events in employment services ≥ {_pct(threshold)}"
                if share[i] >= threshold else "unemployed, too few events to tell" for i in idx]

    return [
        (f.is_one("employment_unemployed") & working_age & searching, unemployed),
        (f.employment_unknown & working_age & f.share_at_least("employment", rule.min_share_employment),
         _share_text(_employment_words(f), f["share_employment"], "employment")),
    ]


_LAST_FIELDS: dict[str, tuple[tuple[int, int, tuple[str, ...]], pd.DataFrame, _Fields]] = {}

_BUILDERS: dict[str, Callable[[_Fields, PersonaRulesConfig], list[tuple[np.ndarray, _Text]]]] = {
    "elderly": _elderly, "family_with_children": _family, "commuter": _commuter, "migrant": _migrant,
    "accessibility_needs": _accessibility, "student": _student, "job_seeker": _job_seeker,
}


def tag_persona(features: pd.DataFrame, config: PersonaRulesConfig, persona: str) -> np.ndarray:
    """Boolean tags of one persona for every row of ``features`` (what :meth:`PersonaRules.tag` gives it).

    Repeated calls on the same frame with the same ``min_events`` and ``uninformative_employment`` reuse
    the parsed columns (calibration tries many thresholds on one frame).

    Raises
    ------
    KeyError
        If ``persona`` is not one of ``Vocab.PERSONAS``.
    """
    key = (id(features), config.min_events, config.uninformative_employment)
    cached = _LAST_FIELDS.get("fields")
    if cached is None or cached[0] != key or cached[1] is not features:
        _LAST_FIELDS["fields"] = (key, features, _Fields(features, config.min_events,
                                                          config.uninformative_employment))
    f = _LAST_FIELDS["fields"][2]
    mask = np.zeros(len(features), dtype=bool)
    for branch, _text in _BUILDERS[persona](f, config):
        mask |= branch
    return mask
