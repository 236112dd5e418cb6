"""Off-policy CTR estimates against a known truth: a logging policy that explores with known propensities,
residents with known click probabilities, and a different target policy whose true CTR is computed exactly."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serving.feedback_models import FeedbackEvent, ServedItem, ServedList
from serving.store import FeedbackStore
from training.off_policy import OffPolicyError, estimate_ctr, logged_impressions

SERVICES, K, EPSILON = 30, 5, 0.3


@dataclass
class World:
    logged: pd.DataFrame
    target: pd.DataFrame
    target_ctr: float  # the truth
    logging_ctr: float
    click: np.ndarray  # click probability per (resident, service)


def _world(seed: int, residents: int = 300, lists: int = 4, explore_only: int = SERVICES) -> World:
    """Epsilon-greedy logging: with probability 1 − ε the champion's top-k, else k services drawn uniformly from
    the first ``explore_only`` services; propensity = (1 − ε)·[s in top-k] + ε·k/explore_only. The target shows
    each resident's truly best k services; clicks are Bernoulli(c[u, s]) whatever else is in the list."""
    rng = np.random.default_rng(seed)
    click = rng.beta(1, 6, size=(residents, SERVICES))
    champion = np.argsort(-(click + rng.normal(0, 0.15, click.shape)), axis=1)[:, :K]
    target = np.argsort(-click, axis=1)[:, :K]
    in_top = np.zeros(click.shape, bool)
    np.put_along_axis(in_top, champion, True, axis=1)
    explorable = np.arange(SERVICES) < explore_only
    propensity = (1 - EPSILON) * in_top + EPSILON * K / explore_only * explorable
    resident = np.repeat(np.arange(residents), lists)
    explored = np.argsort(rng.random((len(resident), explore_only)), axis=1)[:, :K]  # uniform k-subsets
    shown = np.where((rng.random(len(resident)) < EPSILON)[:, None], explored, champion[resident])
    who = np.repeat(resident, K)
    services = shown.ravel()
    logged = pd.DataFrame({
        "request_id": [f"q{u}-{j}" for u, j in zip(who, np.repeat(np.arange(len(resident)), K), strict=True)],
        "resident_id": [f"R{u}" for u in who], "service_id": [f"S{s}" for s in services],
        "propensity": propensity[who, services], "clicked": rng.random(len(who)) < click[who, services]})
    lists_frame = pd.DataFrame({"resident_id": np.repeat([f"R{u}" for u in range(residents)], K),
                                "service_id": [f"S{s}" for s in target.ravel()],
                                "rank": np.tile(np.arange(1, K + 1), residents)})
    return World(logged, lists_frame, float(np.take_along_axis(click, target, 1).mean()),
                 float(np.take_along_axis(click, champion, 1).mean()), click)


def test_ips_interval_covers_the_true_ctr_of_a_different_policy() -> None:
    world = _world(seed=1)
    estimate = estimate_ctr(world.logged, world.target, clip=None)
    assert world.target_ctr > world.logging_ctr + 0.05  # the target really differs from the logging policy
    assert estimate.ips.low <= world.target_ctr <= estimate.ips.high
    assert estimate.ips.low > world.logging_ctr  # and the estimate can tell
    assert (estimate.lists, estimate.residents, estimate.k) == (1200, 300, K)
    assert 0 < estimate.support < 1  # empirical: not every target service was shown to every resident


def test_intervals_are_calibrated_over_repeated_logs() -> None:
    hits = {"ips": 0, "snips": 0}
    trials = 40
    for seed in range(100, 100 + trials):
        world = _world(seed, residents=120)
        estimate = estimate_ctr(world.logged, world.target)
        for method in hits:
            value = getattr(estimate, method)
            hits[method] += value.low <= world.target_ctr <= value.high
    assert hits["ips"] / trials >= 0.85
    assert hits["snips"] / trials >= 0.85


def test_clipping_caps_weights_and_self_normalising_stays_close() -> None:
    world = _world(seed=0)
    max_weight = float((1 / world.logged["propensity"]).max())
    loose = estimate_ctr(world.logged, world.target, clip=max_weight)
    assert loose.clipped.value == pytest.approx(loose.ips.value)
    tight = estimate_ctr(world.logged, world.target, clip=2.0)
    assert tight.clipped.value < tight.ips.value  # every weight is 1/p ≥ 1 and those above 2 are cut: biased down
    assert tight.clipped.se < tight.ips.se  # ... for less variance
    assert tight.snips.low <= world.target_ctr <= tight.snips.high  # (calibration: see the test above)
    metrics = tight.to_metrics()
    assert metrics["offpolicy.ctr.ips"] == tight.ips.value and metrics["offpolicy.ctr.clipped_ips_low"] < 1
    assert tight.to_json()["clip"] == 2.0


def test_support_exposes_services_the_logging_policy_never_shows() -> None:
    world = _world(seed=3, explore_only=10)  # the logger never explores services 10-29
    services = np.arange(20, 20 + K)
    unseen = pd.DataFrame({"resident_id": np.repeat([f"R{u}" for u in range(len(world.click))], K),
                           "service_id": [f"S{s}" for s in np.tile(services, len(world.click))]})
    truth = float(world.click[:, services].mean())
    estimate = estimate_ctr(world.logged, unseen)
    shown = set(zip(world.logged["resident_id"], world.logged["service_id"], strict=True))
    expected = np.mean([pair in shown for pair in zip(unseen["resident_id"], unseen["service_id"], strict=True)])
    assert estimate.support == pytest.approx(expected)
    assert estimate.support < 0.3  # shown only when in the champion's own top-k
    assert estimate.ips.high < truth  # the unsupported part is missing: the low support warns of it


def test_k_keeps_the_top_of_each_target_list_and_unknown_propensities_skip_lists() -> None:
    world = _world(seed=4, residents=50)
    top2 = estimate_ctr(world.logged, world.target.sample(frac=1, random_state=0), k=2)
    assert top2.k == 2
    logged = world.logged.copy()
    logged.loc[logged["request_id"] == "q0-0", "propensity"] = math.nan
    assert estimate_ctr(logged, world.target).skipped_lists == 1


def test_bad_propensity_and_missing_columns_are_named() -> None:
    world = _world(seed=5, residents=10)
    broken = world.logged.copy()
    broken.loc[3, "propensity"] = 0.0
    with pytest.raises(OffPolicyError, match=r"logged row 3: propensity 0\.0"):
        estimate_ctr(broken, world.target)
    with pytest.raises(OffPolicyError, match="propensity"):
        estimate_ctr(world.logged.drop(columns="propensity"), world.target)
    with pytest.raises(OffPolicyError, match="clip"):
        estimate_ctr(world.logged, world.target, clip=0)
    with pytest.raises(OffPolicyError, match="no logged list"):
        estimate_ctr(world.logged.assign(propensity=math.nan), world.target)


def test_logged_impressions_come_from_the_feedback_store(tmp_path: Path) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    store.create_schema()
    when = datetime(2026, 11, 2, 9)
    store.log_served_many([
        ServedList(request_id=f"r{i}", resident_id=f"R{i}", model_version="1", variant=variant, served_at=when,
                   items=[ServedItem(service_id=s, position=p, score=0.0) for p, s in enumerate(["S1", "S2"])])
        for i, variant in enumerate(["champion", "champion", "challenger"])])
    store.add_events([FeedbackEvent(request_id="r0", resident_id="R0", service_id="S2", event="book")])
    served = store.served()
    logged = logged_impressions(served, store.events())
    assert list(logged.columns) == ["request_id", "resident_id", "service_id", "propensity", "clicked"]
    assert len(logged) == 4 and logged["propensity"].isna().all()  # a store without propensities: unknown
    assert logged["clicked"].tolist() == [False, True, False, False]
    with_propensity = logged_impressions(served.assign(propensity=0.5), store.events())
    estimate = estimate_ctr(with_propensity, pd.DataFrame({"resident_id": ["R0", "R1"], "service_id": ["S2", "S1"]}))
    assert estimate.ips.value == pytest.approx((1 / 0.5 + 0) / 2)  # R0's list: clicked S2 at p=0.5, k=1
