"""The rule inputs of every known resident, stored with the version's lists in training, are those a direct
computation for the one resident gives (the rules' own functions over the pipeline's cross features); a version
stored without them computes them at load and answers the same."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from features.columns import Columns as C
from recommenders.rules import RULE_RESIDENT_FEATURES
from serving.model_holder import ModelHolder
from serving.request_answer import answer_request
from serving.request_models import RequestIn
from serving.resident_rules import REASONS, USED_ONE_OFF
from tests.serving.conftest import Registry, make_settings
from tests.serving.test_list_store import BROKEN, _register, _stored_folder
from training.batch_lists import MANIFEST


def test_stored_rule_inputs_match_a_direct_computation(holder: ModelHolder) -> None:
    serving = holder.current.requests
    assert serving is not None and holder.current.rule_inputs_stored
    rules = serving.rules
    assert rules.stored
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


def _without_rule_inputs(folder: Path) -> None:
    """Make a stored-lists folder look like one written before rule inputs were stored."""
    manifest = json.loads((folder / MANIFEST).read_text())
    for entry in manifest["files"]:
        (folder / entry.pop("rules")["file"]).unlink()
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))


def test_a_version_without_stored_rule_inputs_computes_them_and_answers_the_same(
    registry: Registry, holder: ModelHolder, tmp_path: Path
) -> None:
    old = tmp_path / "old-lists"
    shutil.copytree(_stored_folder(registry, "1"), old)
    _without_rule_inputs(old)
    _register(registry, holder.current.bundle, old)
    computed = ModelHolder(make_settings(registry, tmp_path / "data", model_name=BROKEN)).load()
    stored = holder.current
    assert not computed.rule_inputs_stored and stored.rule_inputs_stored
    assert computed.requests is not None and stored.requests is not None
    residents = random.Random(3).sample([str(r) for r in stored.bundle.resident_ids()], 12)
    texts = ["我妈八十多了腿脚不利索，中午没人给她做饭", "孩子放学没人接怎么办", "刚来这边打工，暂住证去哪办",
             "想找个零工干干", "老人想体检，免费的那种", "轮椅坏了能租一个吗"]
    for i, resident in enumerate(residents):
        body = RequestIn(resident_id=resident, text=texts[i % len(texts)], k=5)
        mine = answer_request(stored, stored.requests, body).public.model_dump(exclude={"request_id", "model_version"})
        theirs = answer_request(computed, computed.requests, body).public.model_dump(
            exclude={"request_id", "model_version"})
        assert mine == theirs
        assert stored.requests.rules.facts(resident) is not None
    assert computed.requests.rules.facts("not-a-resident") is None
