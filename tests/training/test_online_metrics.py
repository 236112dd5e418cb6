"""Online metrics from a real feedback store: the definitions of impression, click, booking, use, rating and
coverage, personas, the time window and the resident-clustered intervals."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features import Columns as C
from serving.feedback_models import FeedbackEvent, ServedItem, ServedList
from serving.store import FeedbackStore
from training.online_metrics import OnlineMetricsError, label_impressions, online_metrics, ratio_ci

DAY = datetime(2026, 11, 2, 9, 0)


def _list(request_id: str, resident: str, services: list[str], *, version: str = "1", variant: str = "champion",
          served_at: datetime = DAY) -> ServedList:
    items = [ServedItem(service_id=s, position=i + 1, score=1.0 - i / 10) for i, s in enumerate(services)]
    return ServedList(request_id=request_id, resident_id=resident, model_version=version, variant=variant,
                      items=items, served_at=served_at)


def _event(request_id: str, resident: str, service: str, event: str, rating: float | None = None) -> FeedbackEvent:
    return FeedbackEvent(request_id=request_id, resident_id=resident, service_id=service, event=event,  # type: ignore[arg-type]
                         rating=rating, timestamp=DAY)


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    opened = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    opened.create_schema()
    opened.log_served_many([
        _list("a1", "R1", ["S1", "S2", "S3"]),
        _list("a2", "R1", ["S1", "S4"], served_at=datetime(2026, 11, 3, 9)),
        _list("b1", "R2", ["S2", "S3"]),
        _list("c1", "R3", ["S5", "S6"], version="2", variant="challenger"),
        _list("e1", "R4", [], version="2", variant="challenger"),  # served empty: no impression
    ])
    opened.add_events([
        _event("a1", "R1", "S1", "impression"), _event("a1", "R1", "S1", "view"),  # neither is a click
        _event("a1", "R1", "S2", "click"), _event("a1", "R1", "S2", "book"),  # one clicked, booked impression
        _event("a1", "R1", "S3", "rate", 4.0),  # a rating counts as a click
        _event("a2", "R1", "S4", "use"),  # a use is a click, a booking and a use
        _event("a2", "R1", "S9", "click"),  # S9 was not in list a2: ignored
        _event("b1", "R2", "S3", "rate", 2.0), _event("b1", "R2", "S3", "rate", 3.0),
        _event("c1", "R3", "S6", "click"),
    ])
    return opened


def test_metrics_per_version_follow_the_documented_definitions(store: FeedbackStore) -> None:
    table = online_metrics(store.served(), store.events(), catalogue_size=10).set_index(["model_version", "variant"])
    champion = table.loc[("1", "champion")]
    assert (champion["lists"], champion["impressions"], champion["residents"]) == (3, 7, 2)
    assert (champion["clicks"], champion["bookings"], champion["uses"]) == (4, 2, 1)  # S2, S3(a1), S4, S3(b1)
    assert champion["ctr"] == pytest.approx(4 / 7)
    assert champion["booking_rate"] == pytest.approx(2 / 7)
    assert champion["use_rate"] == pytest.approx(1 / 7)
    assert (champion["ratings"], champion["mean_rating"]) == (3, pytest.approx(3.0))
    assert champion["coverage"] == pytest.approx(4 / 10)  # S1..S4
    challenger = table.loc[("2", "challenger")]
    assert (challenger["lists"], challenger["impressions"], challenger["ctr"]) == (1, 2, 0.5)
    assert math.isnan(challenger["mean_rating"])


def test_window_filters_on_served_at_and_keeps_late_feedback(store: FeedbackStore) -> None:
    day_two = online_metrics(store.served(), store.events(), by=(), since="2026-11-03", until="2026-11-04")
    assert day_two[["lists", "impressions", "clicks"]].iloc[0].tolist() == [1, 2, 1]
    aware = online_metrics(store.served(), store.events(), by=(), since="2026-11-02T19:00:00Z")  # = 3 Nov 03:00
    assert aware["lists"].iloc[0] == 1


def test_personas_split_groups_and_count_a_resident_in_each_tag(store: FeedbackStore) -> None:
    personas = pd.Series(["elderly", "commuter", "elderly"], index=["R1", "R1", "R2"])
    table = online_metrics(store.served(), store.events(), by=("variant",), personas=personas)
    rows = table.set_index(["variant", "persona"])
    assert rows.loc[("champion", "all"), "impressions"] == 7
    assert rows.loc[("champion", "elderly"), "impressions"] == 7
    assert rows.loc[("champion", "commuter"), "impressions"] == 5
    assert ("challenger", "elderly") not in rows.index  # R3 has no tag: only in "all"
    wide = pd.DataFrame({"elderly": [True, True], "commuter": [True, False]}, index=["R1", "R2"])
    pd.testing.assert_frame_equal(online_metrics(store.served(), store.events(), by=("variant",), personas=wide),
                                  table)


def test_label_impressions_accepts_a_propensity_column(store: FeedbackStore) -> None:
    served = store.served().assign(propensity=0.5)
    labelled = label_impressions(served, store.events())
    assert labelled["propensity"].eq(0.5).all()
    assert labelled.loc[labelled["request_id"] == "a1", "clicked"].tolist() == [False, True, True]


def test_bad_input_names_the_column() -> None:
    with pytest.raises(OnlineMetricsError, match="served_at"):
        label_impressions(pd.DataFrame({"request_id": ["r"]}), pd.DataFrame())
    with pytest.raises(OnlineMetricsError, match="community_id"):
        online_metrics(pd.DataFrame(columns=["request_id", C.RESIDENT]), pd.DataFrame(), by=("community_id",))


def test_empty_store_gives_an_empty_table(tmp_path: Path) -> None:
    empty = FeedbackStore(f"sqlite:///{tmp_path / 'empty.db'}")
    empty.create_schema()
    table = online_metrics(empty.served(), empty.events(), confidence=0.9)
    assert table.empty and {"ctr", "ctr_low", "coverage"} <= set(table.columns)


def test_resident_clustered_interval_covers_the_true_rate() -> None:
    """Residents differ in how often they click; their lists are correlated. The 95 % interval should cover the
    true CTR in about 95 % of repeated samples, where a naive per-impression interval is far too narrow."""
    rng = np.random.default_rng(3)
    covered, naive_covered, trials = 0, 0, 200
    for _ in range(trials):
        rates = rng.beta(0.5, 4.5, size=200)  # true mean 0.1
        lists = rng.integers(1, 15, size=200)
        impressions = lists * 5
        clicks = rng.binomial(impressions, rates)
        truth = 0.1  # the population CTR: E[clicks] / E[impressions]
        estimate = ratio_ci(clicks, impressions)
        covered += estimate.low <= truth <= estimate.high
        p = clicks.sum() / impressions.sum()
        naive = 1.96 * math.sqrt(p * (1 - p) / impressions.sum())
        naive_covered += abs(p - truth) <= naive
    assert covered / trials > 0.9
    assert naive_covered / trials < 0.8
