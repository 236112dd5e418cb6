"""Precomputed lists: packing, joining, saving, cutting to k with the offline quota, and the parallel
precomputation giving the same lists as the in-process one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.columns import Columns as C
from serving.model_holder import ModelHolder
from serving.precompute import precompute_all
from serving.ranked import EXPLANATION, EXPLANATION_ZH, RankedLists, select_with_quota
from tests.serving.conftest import MODEL, Registry

SERVICES = pd.Index(["S0", "S1", "S2", "S3", "S4"], dtype=object)


def _frame(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame({C.RESIDENT: [r[0] for r in rows], C.SERVICE: [r[1] for r in rows],
                         "score": [r[2] for r in rows], EXPLANATION: [r[3] for r in rows],
                         EXPLANATION_ZH: [f"zh:{r[3]}" for r in rows]})


def test_quota_keeps_the_first_offline_services_in_rank_order() -> None:
    capable = np.array([False, False, True, False, True, True])
    assert select_with_quota(capable, False, 3, quota=2).tolist() == [0, 1, 2]
    assert select_with_quota(capable, True, 3, quota=2).tolist() == [0, 2, 4]
    assert select_with_quota(capable, True, 1, quota=2).tolist() == [2]
    assert select_with_quota(capable, True, 10, quota=2).tolist() == [0, 1, 2, 3, 4, 5]
    assert select_with_quota(capable, True, 3, quota=0).tolist() == [0, 1, 2]
    assert select_with_quota(np.zeros(0, dtype=bool), True, 3, quota=2).tolist() == []


def test_pack_pick_join_and_save(tmp_path: Path) -> None:
    first = RankedLists.from_recommendations(
        _frame([("A", "S3", 0.9, "used"), ("A", "S1", 0.5, "similar"), ("B", "S0", 0.7, "popular")]),
        ["A", "B", "C"], SERVICES, np.array([False, True, False]), k=10)
    second = RankedLists.from_recommendations(_frame([("D", "S4", 0.3, "similar"), ("D", "S2", 0.2, "new")]),
                                              ["D"], SERVICES, np.array([True]), k=10)
    joined = RankedLists.concat([first, second])
    assert list(joined.residents) == ["A", "B", "C", "D"] and len(joined.texts_en) == 4
    capable = np.array([False, False, True, False, True])
    picks = joined.pick(joined.row_of("A"), 10, None, 0, capable)
    assert [(SERVICES[p.service], p.explanation, p.explanation_zh) for p in picks] == [
        ("S3", "used", "zh:used"), ("S1", "similar", "zh:similar")]
    assert joined.pick(joined.row_of("C"), 10, None, 0, capable) == []
    assert [SERVICES[p.service] for p in joined.pick(joined.row_of("D"), 1, None, 1, capable)] == ["S4"]
    only_s1 = np.array([False, True, False, False, False])
    assert [SERVICES[p.service] for p in joined.pick(joined.row_of("A"), 10, only_s1, 0, capable)] == ["S1"]
    assert joined.row_of("nobody") == -1
    loaded = RankedLists.load(joined.save(tmp_path / "lists.npz"))
    for name in ("offsets", "services", "scores", "explanations", "prefers_offline"):
        assert np.array_equal(getattr(loaded, name), getattr(joined, name))
    assert (loaded.texts_zh, list(loaded.residents), loaded.k) == (joined.texts_zh, list(joined.residents), 10)
    pooled = RankedLists.from_recommendations(_frame([("E", "S1", 0.4, "x")]), ["E"], SERVICES, np.array([False]),
                                              k=1, depth=3)
    assert RankedLists.load(pooled.save(tmp_path / "pooled.npz")).depth == 3


def test_lists_cached_in_the_previous_format_are_refused(tmp_path: Path) -> None:
    lists = RankedLists.from_recommendations(_frame([("A", "S0", 1.0, "x")]), ["A"], SERVICES, np.array([False]), k=5)
    path = lists.save(tmp_path / "lists.npz")
    with np.load(path) as data:
        old = {name: data[name] for name in data.files if name != "depth"} | {"format": np.array(1)}
    np.savez(path, **old)
    with pytest.raises(ValueError, match="format 1"):
        RankedLists.load(path)


def test_lists_must_follow_the_resident_order() -> None:
    with pytest.raises(ValueError, match="order"):
        RankedLists.from_recommendations(_frame([("B", "S0", 1.0, "x"), ("A", "S1", 1.0, "x")]), ["A", "B"],
                                         SERVICES, np.zeros(2, dtype=bool), k=5)


def test_parallel_precompute_equals_in_process(holder: ModelHolder, registry: Registry, tmp_path: Path) -> None:
    import mlflow.artifacts

    uri = registry.client.get_model_version_download_uri(MODEL, holder.current.version)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path),
                                                     tracking_uri=registry.tracking_uri))
    bundle = holder.current.bundle
    batch = holder.settings.precompute_batch  # the same batches: demoted services' scores depend on the batch
    lists = holder.current.lists
    parallel = precompute_all(bundle, lists.k, batch=batch, workers=2, model_dir=local, depth=lists.depth)
    serial = holder.current.lists
    assert parallel.residents.equals(serial.residents)
    assert np.array_equal(parallel.offsets, serial.offsets) and np.array_equal(parallel.services, serial.services)
    assert np.allclose(parallel.scores, serial.scores)
    texts = [parallel.texts_en[c] for c in parallel.explanations]
    assert texts == [serial.texts_en[c] for c in serial.explanations]
