"""The rule inputs of every known resident, precomputed in batches when a model version loads, are those a direct
computation for the one resident gives (the rules' own functions over the pipeline's cross features)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.columns import Columns as C
from recommenders.rules import RULE_RESIDENT_FEATURES
from serving.model_holder import ModelHolder
from serving.resident_rules import REASONS, USED_ONE_OFF


def test_precomputed_rule_inputs_match_a_direct_computation(holder: ModelHolder) -> None:
    serving = holder.current.requests
    assert serving is not None
    rules = serving.rules
    bundle = rules.bundle
    residents = [str(r) for r in bundle.resident_ids()]
    picked = residents[:: max(1, len(residents) // 25)]
    excluded = 0
    for resident in picked:
        facts = rules.facts(resident)
        assert facts is not None and facts.resident_id == resident
        pairs = pd.DataFrame({C.RESIDENT: [resident] * len(rules.services), C.SERVICE: rules.services})
        cross = bundle.cross_features(pairs)
        allowed = rules.rules.allowed(cross, (1, len(rules.services)))[0]
        np.testing.assert_array_equal(facts.allowed, allowed)
        for s in np.flatnonzero(~allowed):
            failing = [REASONS[name] for name in REASONS
                       if cross[name].iloc[s] != 1
                       and not (np.isnan(cross[name].iloc[s]) and rules.rules.config.unknown_is_eligible)]
            assert facts.reasons[s] == (failing[0] if failing else USED_ONE_OFF)
        assert all(facts.reasons[s] is None for s in np.flatnonzero(allowed))
        np.testing.assert_array_equal(facts.cross["accessibility_match"].to_numpy() == 1,
                                      cross["accessibility_match"].to_numpy(dtype=np.float64) == 1)
        direct = bundle.model.pipeline_.resident_features(np.array([resident], dtype=object))[
            list(RULE_RESIDENT_FEATURES)]
        np.testing.assert_array_equal(facts.rule_resident.to_numpy(dtype=np.float64),
                                      direct.to_numpy(dtype=np.float64, na_value=np.nan))
        excluded += int((~allowed).sum())
    assert excluded  # the sample exercises the reasons, not only allowed services
    assert rules.facts("not-a-resident") is None and not rules.known("not-a-resident")
