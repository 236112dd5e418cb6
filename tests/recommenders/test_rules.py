"""Post-ranking rules on hand-made score matrices whose right answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from features.columns import Columns as C
from recommenders.rules import RulesConfig, ServiceRules

NAN = np.nan
# six services: two of category a (s0 offline, s1 online), three of b, one of c (offline, one-off)
SERVICES = pd.DataFrame({
    C.SERVICE: [f"s{i}" for i in range(6)],
    C.CATEGORY: ["a", "a", "b", "b", "b", "c"],
    C.CHANNEL: ["offline", "online", "online", "online", "both", "offline"],
    C.ONE_OFF: [False, False, False, False, False, True],
})
OFF = RulesConfig(eligibility=False, accessibility_first=False, offline_quota=0, filter_used_one_off=False,
                  min_categories=0, max_per_category=0)


def _cross(n: int, **overrides: list[float]) -> pd.DataFrame:
    base = {c: [1.0] * (n * 6) for c in ("age_match", "children_match", "residency_match", "scope_match",
                                         "accessibility_match")}
    base["pair_strongest_event"] = [0.0] * (n * 6)
    base.update(overrides)
    return pd.DataFrame(base)


def _residents(offline: list[float], need: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"prefers_offline": offline, "accessibility_need": need})


def _select(config: RulesConfig, scores: np.ndarray, cross: pd.DataFrame, residents: pd.DataFrame, k: int
            ) -> np.ndarray:
    rules = ServiceRules(config, SERVICES)
    return rules.select(scores, rules.allowed(cross, scores.shape), residents, cross, k)[0]


SCORES = np.array([[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]])


def test_no_rules_keeps_the_ranker_order() -> None:
    picked = _select(OFF, SCORES, _cross(1), _residents([0], [0]), 4)
    assert picked.tolist() == [[0, 1, 2, 3]]


def test_ineligible_services_are_dropped_and_unknown_is_configurable() -> None:
    cross = _cross(1, age_match=[1, 0, 1, NAN, 1, 1], scope_match=[1, 1, 0, 1, 1, 1])
    only = OFF.model_copy(update={"eligibility": True})
    assert _select(only, SCORES, cross, _residents([0], [0]), 3).tolist() == [[0, 3, 4]]
    strict = only.model_copy(update={"unknown_is_eligible": False})
    assert _select(strict, SCORES, cross, _residents([0], [0]), 3).tolist() == [[0, 4, 5]]


def test_used_one_off_service_is_not_shown_again_but_a_viewed_one_is() -> None:
    rule = OFF.model_copy(update={"filter_used_one_off": True})
    top_one_off = np.array([[1.0, 0, 0, 0, 0, 9.0]])
    used = _cross(1, pair_strongest_event=[0, 0, 0, 0, 0, 5])  # 5 = use
    viewed = _cross(1, pair_strongest_event=[0, 0, 0, 0, 0, 2])  # 2 = view
    assert 5 not in _select(rule, top_one_off, used, _residents([0], [0]), 3)[0]
    assert _select(rule, top_one_off, viewed, _residents([0], [0]), 3)[0][0] == 5


def test_accessible_services_come_first_for_residents_who_need_them() -> None:
    rule = OFF.model_copy(update={"accessibility_first": True})
    scores = np.repeat(SCORES, 2, axis=0)
    cross = _cross(2, accessibility_match=[0, 0, 1, 1, 1, 1] * 2)
    picked = _select(rule, scores, cross, _residents([0, 0], [1, 0]), 3)
    assert picked[0].tolist() == [2, 3, 4]
    assert picked[1].tolist() == [0, 1, 2], "residents without a need keep the ranker order"


def test_offline_quota_brings_offline_services_into_the_list() -> None:
    rule = OFF.model_copy(update={"offline_quota": 2})
    scores = np.array([[1.0, 6, 5, 4, 3, 0.5]] * 2)
    picked = _select(rule, scores, _cross(2), _residents([1, 0], [0, 0]), 3)
    assert set(picked[0]) >= {0, 4}, "two offline-capable services for the offline resident"
    assert picked[0].tolist() == [1, 4, 0], "the list stays in ranker order"
    assert picked[1].tolist() == [1, 2, 3]


def test_category_diversity_caps_each_category() -> None:
    rule = OFF.model_copy(update={"max_per_category": 1})
    scores = np.array([[1.0, 0.5, 9, 8, 7, 0.1]])
    assert _select(rule, scores, _cross(1), _residents([0], [0]), 3).tolist() == [[2, 0, 5]]


# ranker order: s2 s3 s4 (all b), s0 s1 (a), s5 (c)
B_FIRST = np.array([[1.0, 0.5, 9, 8, 7, 0.1]])


def test_lists_span_the_minimum_number_of_categories_without_losing_services() -> None:
    two = OFF.model_copy(update={"min_categories": 2, "category_window": 3})
    full = _select(two, B_FIRST, _cross(1), _residents([0], [0]), 6)
    assert full.tolist() == [[2, 3, 0, 4, 1, 5]], "s4 waits until just after the window, nothing is dropped"
    three = OFF.model_copy(update={"min_categories": 3, "category_window": 3})
    assert _select(three, B_FIRST, _cross(1), _residents([0], [0]), 6).tolist() == [[2, 0, 5, 3, 4, 1]]


def test_a_resident_whose_needs_sit_in_one_category_still_gets_them() -> None:
    wide = OFF.model_copy(update={"min_categories": 2, "category_window": 6})
    assert _select(wide, B_FIRST, _cross(1), _residents([0], [0]), 4).tolist() == [[2, 3, 4, 0]]
    only_b = np.array([[-np.inf, -np.inf, 9, 8, 7, -np.inf]])
    assert _select(wide, only_b, _cross(1), _residents([0], [0]), 4).tolist() == [[2, 3, 4, -1]], \
        "with one category allowed, the list is not cut short to wait for another"


def test_category_order_does_not_depend_on_k_and_the_score_follows_it() -> None:
    two = OFF.model_copy(update={"min_categories": 2, "category_window": 3, "offline_quota": 2})
    rules = ServiceRules(two, SERVICES)
    scores, cross, residents = np.repeat(B_FIRST, 2, axis=0), _cross(2), _residents([0, 1], [0, 0])
    allowed = rules.allowed(cross, scores.shape)
    longest, key = rules.select(scores, allowed, residents, cross, 6)
    for k in (1, 2, 3):
        assert rules.select(scores, allowed, residents, cross, k)[0][0].tolist() == longest[0, :k].tolist()
    listed = np.take_along_axis(key, longest, axis=1)
    assert (np.diff(listed[0]) < 0).all(), "scores fall along the list, deferred services included"


def test_category_window_must_hold_the_categories() -> None:
    with pytest.raises(ValidationError, match=r"min_categories.*category_window"):
        RulesConfig(min_categories=5, category_window=4)


def test_short_lists_are_padded_with_minus_one() -> None:
    scores = np.array([[1.0, -np.inf, -np.inf, -np.inf, -np.inf, 2.0]])
    assert _select(OFF, scores, _cross(1), _residents([0], [0]), 4).tolist() == [[5, 0, -1, -1]]


def test_unknown_rules_are_errors() -> None:
    with pytest.raises(ValidationError, match="max_per_categroy"):
        RulesConfig(max_per_categroy=2)  # type: ignore[call-arg]
