"""The A/B report on synthetic experiments with a known winner, logged through a real feedback store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serving.feedback_models import FeedbackEvent, ServedItem, ServedList
from serving.store import FeedbackStore
from training.ab_report import LOSES, NO_DATA, TIE, WINS, ab_report
from training.online_metrics import OnlineMetricsError

START = datetime(2026, 11, 2, 8)


def _experiment(tmp_path: Path, ctr: dict[str, float], residents: int = 240, seed: int = 0,
                lists: int = 3, k: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Residents split evenly (sticky) between variants; a resident's click chance is their own taste times the
    variant's CTR / 0.1, so residents differ and their lists are correlated. A third of clicks are booked."""
    rng = np.random.default_rng(seed)
    store = FeedbackStore(f"sqlite:///{tmp_path / f'ab-{seed}.db'}")
    store.create_schema()
    variants = list(ctr)
    taste = rng.beta(1, 9, size=residents)  # mean 0.1
    served, events = [], []
    for r in range(residents):
        variant = variants[r % len(variants)]
        chance = min(taste[r] * ctr[variant] / 0.1, 1.0)
        for j in range(lists):
            request = f"q{r}-{j}"
            services = [f"S{s}" for s in rng.choice(40, k, replace=False)]
            version = str(variants.index(variant) + 1)
            served.append(ServedList(request_id=request, resident_id=f"R{r}", model_version=version, variant=variant,
                                     served_at=START + timedelta(hours=j),
                                     items=[ServedItem(service_id=s, position=i + 1, score=0.0)
                                            for i, s in enumerate(services)]))
            for s in services:
                if rng.random() < chance:
                    events.append(FeedbackEvent(request_id=request, resident_id=f"R{r}", service_id=s, event="click"))
                    if rng.random() < 1 / 3:
                        events.append(FeedbackEvent(request_id=request, resident_id=f"R{r}", service_id=s,
                                                    event="book"))
    store.log_served_many(served)
    store.add_events(events)
    return store.served(), store.events()


def test_a_better_challenger_wins(tmp_path: Path) -> None:
    served, events = _experiment(tmp_path, {"champion": 0.10, "challenger": 0.20})
    report = ab_report(served, events, min_residents=50)
    assert report.verdict == WINS, report.table()
    ctr = next(c for c in report.comparisons if c.metric == "ctr")
    assert 0 < ctr.low < 0.10 < ctr.high  # the interval holds the true difference
    assert ctr.relative == pytest.approx(ctr.difference / ctr.baseline_value)
    arms = {a.variant: a for a in report.arms}
    assert arms["champion"].residents == arms["challenger"].residents == 120
    assert arms["challenger"].model_versions == ["2"]
    assert report.residents_in_several_arms == 0
    booking = ab_report(served, events, metric="booking_rate", min_residents=50)
    assert booking.metric == "booking_rate" and booking.verdict in (WINS, TIE)


def test_a_worse_challenger_loses_and_equal_arms_tie(tmp_path: Path) -> None:
    worse, worse_events = _experiment(tmp_path, {"champion": 0.20, "challenger": 0.10}, seed=1)
    assert ab_report(worse, worse_events, min_residents=50).verdict == LOSES
    same, same_events = _experiment(tmp_path, {"champion": 0.12, "challenger": 0.12}, seed=2)
    report = ab_report(same, same_events, min_residents=50)
    assert report.verdict == TIE, report.table()
    assert "ctr difference" in report.reason


def test_too_few_residents_or_one_arm_is_not_enough_data(tmp_path: Path) -> None:
    served, events = _experiment(tmp_path, {"champion": 0.10, "challenger": 0.30}, residents=40, seed=3)
    report = ab_report(served, events, min_residents=100)
    assert report.verdict == NO_DATA
    assert "challenger has 20 residents, needs at least 100" in report.reason
    only = ab_report(served[served["variant"] == "champion"], events)
    assert only.verdict == NO_DATA and "only champion" in only.reason
    nothing = ab_report(served.iloc[0:0], events.iloc[0:0])
    assert nothing.verdict == NO_DATA and "no served lists" in nothing.reason


def test_several_variants_share_the_error_rate_and_the_report_is_json(tmp_path: Path) -> None:
    served, events = _experiment(tmp_path, {"champion": 0.10, "challenger": 0.10, "explore": 0.25}, residents=360,
                                 seed=4)
    report = ab_report(served, events, min_residents=50)
    assert report.adjusted_confidence == pytest.approx(0.975)
    verdicts = {c.variant: c.verdict for c in report.comparisons if c.metric == "ctr"}
    assert verdicts == {"challenger": TIE, "explore": "explore wins"}
    assert report.verdict == TIE and report.reason.startswith("challenger vs champion")
    payload = json.loads(json.dumps(report.to_json()))
    assert payload["verdict"] == TIE and len(payload["comparisons"]) == 8
    assert payload["arms"][0]["metrics"]["mean_rating"]["value"] is None  # no ratings: NaN becomes null
    table = report.table()
    assert "explore wins" in table and "verdict on ctr" in table


def test_bad_parameters_are_named(tmp_path: Path) -> None:
    served, events = _experiment(tmp_path, {"champion": 0.1}, residents=4, seed=5)
    with pytest.raises(OnlineMetricsError, match="unknown metric 'ndcg'"):
        ab_report(served, events, metric="ndcg")
    with pytest.raises(OnlineMetricsError, match="confidence"):
        ab_report(served, events, confidence=95)


def test_linli_ab_report_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from linli.cli import app

    _experiment(tmp_path, {"champion": 0.10, "challenger": 0.20}, seed=6)
    database = f"sqlite:///{tmp_path / 'ab-6.db'}"
    result = CliRunner().invoke(app, ["ab-report", "--store", database, "--min-residents", "50", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["verdict"] == WINS
    later = CliRunner().invoke(app, ["ab-report", "--store", database, "--since", "2026-11-03"])
    assert later.exit_code == 0 and f"verdict on ctr: {NO_DATA}" in later.output  # nothing served since
    missing = CliRunner().invoke(app, ["ab-report", "--store", f"sqlite:///{tmp_path / 'none.db'}"])
    assert missing.exit_code == 2 and "no such database file" in missing.output
    bad = CliRunner().invoke(app, ["ab-report", "--store", database, "--metric", "ndcg"])
    assert bad.exit_code == 2 and "unknown metric 'ndcg'" in bad.output
