"""Residents' requests on the planner page: counts per unit, persona, category and month, with k-suppression."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from profiling.request_demand import request_demand_table, request_monthly_table

GEOGRAPHY = pd.DataFrame({"community_id": ["C1", "C2", "C3"], "street_id": ["S1", "S1", "S1"],
                          "district_id": ["D1", "D1", "D1"]})


def _requests() -> pd.DataFrame:
    """C1: 12 elderly-care requests by the elderly R1..R12 in November (3 unmet) and 11 unmatched anonymous ones in
    December; C2: 2 childcare requests; C3: 15 convenience requests in November; one request of an unknown
    community."""
    rows: list[tuple[str | None, str, datetime, str | None, list[str]]] = []
    for i in range(12):
        rows.append((f"R{i + 1}", "C1", datetime(2026, 11, 3), "elderly_care", ["elderly_care"] if i < 3 else []))
    rows += [(None, "C1", datetime(2026, 12, 1), None, [])] * 11
    rows += [("R50", "C2", datetime(2026, 11, 5), "childcare", [])] * 2
    rows += [(f"R{60 + i}", "C3", datetime(2026, 11, 9), "convenience", []) for i in range(15)]
    rows.append(("R99", "C404", datetime(2026, 11, 9), "convenience", []))
    frame = pd.DataFrame(rows, columns=["resident_id", "community_id", "asked_at", "top_category", "unmet"])
    frame["request_id"] = [f"q{i}" for i in range(len(frame))]
    return frame


def _tags() -> pd.DataFrame:
    ids = [f"R{i}" for i in range(1, 100)]
    return pd.DataFrame({"elderly": [int(r[1:]) <= 12 for r in ids], "migrant": [False] * len(ids)},
                        index=pd.Index(ids, name="resident_id"))


def _cell(table: pd.DataFrame, **where: str) -> pd.Series:
    mask = pd.Series(True, index=table.index)
    for column, value in where.items():
        mask &= table[column] == value
    assert mask.sum() == 1, where
    return table[mask].iloc[0]


def test_requests_and_unmet_per_unit_persona_and_category() -> None:
    table = request_demand_table(_requests(), _tags(), GEOGRAPHY, k=10)
    elderly = _cell(table, level="community", unit_id="C1", persona="elderly", category="elderly_care")
    assert elderly["requests"] == 12 and elderly["unmet"] is None and elderly["suppressed"] == ("unmet",)
    everyone = _cell(table, level="community", unit_id="C1", persona="all", category="elderly_care")
    assert everyone["requests"] == 12  # the 11 anonymous requests understood nothing: no category
    assert _cell(table, level="community", unit_id="C3", persona="all", category="convenience")["requests"] == 15
    assert _cell(table, level="street", unit_id="S1", persona="all", category="convenience")["requests"] == 15


def test_a_unit_with_fewer_than_k_requests_shows_no_count() -> None:
    table = request_demand_table(_requests(), _tags(), GEOGRAPHY, k=10)
    small = table[(table["level"] == "community") & (table["unit_id"] == "C2")]
    assert small["requests"].isna().all() and small["unmet"].isna().all()
    assert set(small["persona"]) == {"all", "elderly", "migrant"}


def test_monthly_requests_add_up_and_small_cells_are_hidden() -> None:
    table = request_monthly_table(_requests(), GEOGRAPHY, k=10)
    small = _cell(table, level="community", unit_id="C2", month="2026-11")
    assert small["requests"] is None  # 2 < k
    november = _cell(table, level="community", unit_id="C1", month="2026-11")
    assert november["requests"] is None and "requests" in november["suppressed"]  # else street − C3 − C1 gives C2
    assert _cell(table, level="community", unit_id="C3", month="2026-11")["requests"] == 15
    december = _cell(table, level="community", unit_id="C1", month="2026-12")
    assert december["requests"] == 11 and december["unmatched"] == 11
    street = _cell(table, level="street", unit_id="S1", month="2026-11")
    assert street["requests"] == 29  # C1 12 + C2 2 + C3 15; the unknown community is not counted
    assert "C404" not in set(table["unit_id"])


def test_no_requests_give_empty_tables() -> None:
    empty = _requests().iloc[:0]
    assert request_monthly_table(empty, GEOGRAPHY, k=10).empty
    demand = request_demand_table(empty, _tags(), GEOGRAPHY, k=10)
    assert demand["requests"].isna().all()
