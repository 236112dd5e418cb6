"""The gate's online check: refuses an online regression beyond tolerance, passes otherwise, abstains without
enough feedback; and a retrain with a real feedback store logs the champion's CTR and the off-policy estimate."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TypedDict

import numpy as np
import pytest
from mlflow import MlflowClient

from features.columns import Columns as C
from features.dataset import Dataset
from features.sources.synthetic import generate_community
from recommenders.hybrid import HybridConfig
from recommenders.label_strategies import TimeWindowLabels
from recommenders.ranker import RankerConfig
from serving.feedback_models import FeedbackEvent, ServedItem, ServedList
from serving.store import FeedbackStore
from training.config import TrainConfig
from training.feedback_data import FeedbackLog
from training.online_gate import observed_evidence
from training.promotion import GateConfig, OnlineEvidence, decide
from training.retrain import train


class _TrainArgs(TypedDict):
    """Keyword arguments of the two :func:`train` calls of one test (one MLflow store, one config)."""

    tracking_uri: str
    model_name: str
    artifact_location: str
    config: TrainConfig


GATE = GateConfig(online_tolerance=0.01, online_min_impressions=1000, online_min_support=0.8)
BETTER = ({"ndcg@10": 0.52, "per_persona_ndcg@10": {}}, {"ndcg@10": 0.50, "per_persona_ndcg@10": {}})


def _online(candidate: float, impressions: int = 5000, support: float = 1.0, source: str = "off-policy"
            ) -> OnlineEvidence:
    return OnlineEvidence(champion_ctr=0.20, champion_impressions=impressions, candidate_ctr=candidate,
                          candidate_impressions=impressions, source=source, support=support)


def test_online_ctr_worse_beyond_tolerance_is_refused() -> None:
    decision = decide(*BETTER, GATE, online=_online(0.18))
    assert not decision.promoted and decision.alias == "challenger"
    assert any("below champion's CTR 0.2000 by 0.0200 > tolerance 0.01" in r for r in decision.reasons)


def test_online_ctr_within_tolerance_or_better_is_accepted() -> None:
    for ctr in (0.195, 0.25):
        decision = decide(*BETTER, GATE, online=_online(ctr))
        assert decision.promoted, decision.reasons
        assert any("within tolerance" in r for r in decision.reasons)


def test_too_little_feedback_or_support_is_not_judged() -> None:
    few = decide(*BETTER, GATE, online=_online(0.05, impressions=999))
    assert few.promoted and any("too little feedback" in r for r in few.reasons)
    unsupported = decide(*BETTER, GATE, online=_online(0.05, support=0.5))
    assert unsupported.promoted and any("support 0.50 < 0.8" in r for r in unsupported.reasons)
    ab = decide(*BETTER, GATE, online=_online(0.05, support=0.5, source="a/b"))  # support is off-policy only
    assert not ab.promoted and any("A/B CTR 0.0500" in r for r in ab.reasons)


def test_no_feedback_leaves_the_offline_verdict() -> None:
    assert decide(*BETTER, GATE).promoted
    assert not decide(BETTER[1], BETTER[0], GATE).promoted


@pytest.fixture(scope="module")
def small() -> Dataset:
    return generate_community(residents=600, seed=11, weeks=6).dataset()


def _log_lists(store: FeedbackStore, dataset: Dataset, version: str, variant: str, click_rate: float,
               start: datetime, seed: int) -> None:
    """Every resident gets a 10-service list from ``version`` (last place explored with propensity 0.05);
    ``click_rate`` of the items are clicked."""
    rng = np.random.default_rng(seed)
    services = dataset.service_ids.external.to_numpy()
    lists, events = [], []
    for i, resident in enumerate(dataset.resident_ids.external):
        shown = rng.choice(services, 10, replace=False)
        request = f"{version}-{variant}-{i}"
        lists.append(ServedList(request_id=request, resident_id=resident, model_version=version, variant=variant,
                                served_at=start, items=[ServedItem(service_id=s, position=p + 1, score=1.0,
                                                                   propensity=0.05 if p == 9 else 1.0)
                                                        for p, s in enumerate(shown)]))
        for p, s in enumerate(shown):
            stamp = start + timedelta(minutes=p)
            kinds = ["impression", "click"] if rng.random() < click_rate else ["impression"]
            events += [FeedbackEvent(request_id=request, resident_id=resident, service_id=s, event=k,
                                     timestamp=stamp, channel="online") for k in kinds]
    store.log_served_many(lists)
    for begin in range(0, len(events), 1000):
        store.add_events(events[begin:begin + 1000])


def test_retrain_with_a_feedback_store_logs_online_ctrs_and_feeds_the_gate(small: Dataset, tmp_path: Path) -> None:
    config = TrainConfig(test_weeks=1, single_models=("popular",), gate=GATE,
                         hybrid=HybridConfig(labels=TimeWindowLabels(label_weeks=1),
                                             ranker=RankerConfig(n_estimators=30), seed=3))
    store_args: _TrainArgs = {"tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "model_name": "online-gate-test",
                              "artifact_location": (tmp_path / "art").as_uri(), "config": config}
    first = train(small, **store_args)
    assert first.online == {"metrics": {}, "notes": ["no feedback"]}
    with FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}") as store:
        store.create_schema()
        _log_lists(store, small, first.model_version, "champion", 0.3, datetime(2026, 11, 1, 10), seed=1)
        log = FeedbackLog(store.served(), store.events())
    second = train(small, feedback=log, **store_args)
    assert second.feedback["added"] == len(log.events) and second.feedback["impressions_added"] == 0
    metrics = MlflowClient(store_args["tracking_uri"]).get_run(second.run_id).data.metrics
    assert 0.25 < metrics["online.champion_ctr"] < 0.35
    assert metrics["online.champion_ctr_low"] < metrics["online.champion_ctr"] < metrics["online.champion_ctr_high"]
    assert metrics["offpolicy.ctr_low"] <= metrics["offpolicy.ctr"] <= metrics["offpolicy.ctr_high"]
    assert metrics["feedback.added"] == len(log.events)
    assert any(r.startswith("online:") for r in second.decision)
    assert second.online["metrics"]["online.champion_impressions"] == 10 * len(small.resident_ids)


def test_ab_evidence_compares_observed_ctrs(small: Dataset, tmp_path: Path) -> None:
    with FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}") as store:
        store.create_schema()
        _log_lists(store, small, "1", "champion", 0.30, datetime(2026, 11, 1, 10), seed=1)
        _log_lists(store, small, "2", "challenger", 0.10, datetime(2026, 11, 1, 11), seed=2)
        log = FeedbackLog(store.served(), store.events())
    evidence = observed_evidence(log, "1", "2")
    assert evidence is not None and evidence.source == "a/b"
    assert evidence.champion_ctr > 0.25 and evidence.candidate_ctr < 0.15
    decision = decide(*BETTER, GATE, online=evidence)
    assert not decision.promoted
    assert observed_evidence(log, "1", "3") is None
    assert C.RESIDENT in log.served.columns
