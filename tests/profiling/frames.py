"""Hand-made inputs for the profiling tests: resident-feature frames and a tiny dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import Columns, Dataset, Vocab

#: A neutral resident: a 40-year-old registered, employed local worker with no commute evidence.
NEUTRAL: dict[str, float] = {
    "age": 40.0, "age_known": 1.0, "household_size": 2.0, "children_under_18": 0.0, "has_children": 0.0,
    **{f"employment_{s}": 0.0 for s in Vocab.EMPLOYMENT}, "employment_employed": 1.0, "employment_known": 1.0,
    "is_floating": 0.0, "months_resident": 120.0, "accessibility_need": 0.0, "prefers_offline": 0.0,
    "prefers_online": 1.0, "works_other_district": 0.0, "departure_hour": np.nan, "departure_peak": np.nan,
    "n_events": 20.0, "n_active_days": 8.0, "days_since_last_event": 5.0, "events_per_month": 3.3,
    **{f"share_{c}": 0.0 for c in Vocab.SERVICE_CATEGORIES}, "share_convenience": 1.0,
    "weekday_peak_share": 0.1, "weekend_share": 0.2, "daytime_share": 0.8, "evening_share": 0.1,
    "offline_event_share": 0.1, "mean_rating_given": 4.0, "n_ratings": 2.0,
}


def employment(status: str | None) -> dict[str, float]:
    """The employment one-hot columns of a status (``None`` = unknown)."""
    out = {f"employment_{s}": float(s == status) for s in Vocab.EMPLOYMENT}
    out["employment_known"] = float(status is not None)
    return out


def feature_frame(**residents: dict[str, float]) -> pd.DataFrame:
    """Resident features indexed by resident id: each keyword is a resident, its dict overrides NEUTRAL."""
    rows = {rid: {**NEUTRAL, **changes} for rid, changes in residents.items()}
    frame = pd.DataFrame.from_dict(rows, orient="index").astype(float)
    frame.index.name = Columns.RESIDENT
    return frame


def tiny_dataset(sizes: dict[str, int], *, uses: dict[str, list[str]] | None = None) -> Dataset:
    """A dataset whose communities C1..C4 (C1, C2 on street S1 and C3 on S2 in district D1; C4 on S3 in D2)
    have ``sizes`` residents. ``uses`` maps a community to service categories each of its residents used once.
    """
    layout = {"C1": ("S1", "D1"), "C2": ("S1", "D1"), "C3": ("S2", "D1"), "C4": ("S3", "D2")}
    communities = pd.DataFrame([
        {Columns.COMMUNITY: c, Columns.COMMUNITY_NAME: f"社区{c}", Columns.STREET: s,
         Columns.STREET_NAME: f"街道{s}", Columns.DISTRICT: d, Columns.DISTRICT_NAME: f"区{d}"}
        for c, (s, d) in layout.items()])
    residents = pd.DataFrame([
        {Columns.RESIDENT: f"{c}-{i:03d}", Columns.COMMUNITY: c, Columns.BIRTH_YEAR: 1980,
         Columns.HOUSEHOLD_SIZE: 2, Columns.CHILDREN: 0, Columns.EMPLOYMENT: "employed",
         Columns.RESIDENCY: "registered"}
        for c, n in sizes.items() for i in range(n)])
    services = pd.DataFrame([{Columns.SERVICE: f"SV-{c}", Columns.CATEGORY: c, Columns.NAME_ZH: c,
                              Columns.CHANNEL: "both"} for c in Vocab.SERVICE_CATEGORIES])
    rows = []
    for community, categories in (uses or {}).items():
        in_community = residents[Columns.COMMUNITY] == community
        for rid in residents.loc[in_community, Columns.RESIDENT]:
            rows += [{Columns.RESIDENT: rid, Columns.SERVICE: f"SV-{c}", Columns.TIMESTAMP: "2026-10-01 10:00",
                      Columns.EVENT: "use"} for c in categories]
    interactions = pd.DataFrame(rows, columns=[Columns.RESIDENT, Columns.SERVICE, Columns.TIMESTAMP,
                                               Columns.EVENT])
    return Dataset.from_frames(residents, communities, services, interactions)
