"""Recovery scores against a known truth: per-persona F1, macro F1 and segment ARI."""

from __future__ import annotations

import pandas as pd
import pytest

from features import Columns, Vocab
from profiling import TruthMismatchError, recovery_scores, truth_personas

IDS = pd.Index(["a", "b", "c", "d"], name=Columns.RESIDENT)
TRUTH = pd.DataFrame({
    Columns.RESIDENT: ["d", "c", "b", "a"],  # any order
    "latent_types": ["", "student", "elderly;migrant", "elderly"],
    "primary_type": ["other", "student", "elderly", "elderly"],
})


def _tags(**columns: list[bool]) -> pd.DataFrame:
    return pd.DataFrame({p: columns.get(p, [False] * len(IDS)) for p in Vocab.PERSONAS}, index=IDS)


def test_truth_personas_splits_latent_types() -> None:
    truth = truth_personas(TRUTH, IDS)
    assert truth["elderly"].tolist() == [True, True, False, False]
    assert truth["migrant"].tolist() == [False, True, False, False]
    assert truth["student"].tolist() == [False, False, True, False]
    assert not truth["job_seeker"].any()


def test_perfect_tags_and_segments_score_one() -> None:
    tags = _tags(elderly=[True, True, False, False], migrant=[False, True, False, False],
                 student=[False, False, True, False])
    segments = pd.Series([5, 5, 2, 9], index=IDS)
    result = recovery_scores(tags, TRUTH, segments)
    assert result.macro_f1 == 1.0 and set(result.per_persona_f1.values()) == {1.0}
    assert result.segment_ari == pytest.approx(1.0)


def test_f1_per_persona_and_macro_average() -> None:
    tags = _tags(elderly=[True, False, False, True],  # tp 1, fp 1, fn 1 -> F1 0.5
                 migrant=[False, True, False, False], student=[False, False, True, False],
                 job_seeker=[True, False, False, False])  # no true job seeker: F1 0
    result = recovery_scores(tags, TRUTH)
    assert result.per_persona_f1["elderly"] == pytest.approx(0.5)
    assert result.per_persona_f1["job_seeker"] == 0.0
    assert result.per_persona_f1["commuter"] == 1.0  # neither true nor tagged
    assert result.macro_f1 == pytest.approx((0.5 + 0.0 + 5 * 1.0) / 7)
    assert result.segment_ari is None
    assert set(result.to_dict()) == {"macro_f1", "per_persona_f1", "segment_ari"}


def test_truth_must_cover_the_residents() -> None:
    with pytest.raises(TruthMismatchError, match="lacks 1 profiled resident"):
        recovery_scores(_tags(), TRUTH.iloc[1:])
    with pytest.raises(TruthMismatchError, match="primary_type"):
        recovery_scores(_tags(), TRUTH.drop(columns="primary_type"), pd.Series(0, index=IDS))
