"""Lists stored with the version: equal to the bundle's answer, refused when partial or corrupt, swapped under load."""

from __future__ import annotations

import json
import random
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import mlflow
import numpy as np
import pytest
from fastapi.testclient import TestClient

from recommenders.signing import sha256_file
from serving.app import create_app
from serving.list_store import ListStore, ListStoreError
from serving.model_holder import ModelHolder, ModelLoadError
from serving.settings import ServingSettings
from tests.serving.conftest import MODEL, Registry, headers, make_settings, run_server
from training.batch_lists import MANIFEST, score_lists
from training.tracking import LISTS_ARTIFACT, connect, log_bundle, log_lists

BROKEN = "linli-test-lists"


def _stored_folder(registry: Registry, version: str) -> Path:
    run_id = registry.client.get_model_version(MODEL, version).run_id
    assert run_id is not None
    run = registry.client.get_run(run_id)
    return Path(unquote(urlparse(run.info.artifact_uri).path)) / LISTS_ARTIFACT


def test_stored_lists_equal_recommend(holder: ModelHolder) -> None:
    served = holder.current
    bundle = served.bundle
    sample = random.Random(7).sample([str(r) for r in bundle.resident_ids()], 25)
    for k in (served.lists.k, 3):
        expected = bundle.recommend(sample, k, explain=True)
        answers = served.recommend(sample, k)
        for resident, (picks, cold) in zip(sample, answers, strict=True):
            mine = expected[expected["resident_id"] == resident]
            assert not cold
            assert [served.catalog.ids[p.service] for p in picks] == mine["service_id"].tolist()
            assert [p.explanation for p in picks] == mine["explanation"].tolist()
            assert [p.explanation_zh for p in picks] == mine["explanation_zh"].tolist()
            assert np.allclose([p.score for p in picks], mine["score"].to_numpy())


def test_lists_beyond_the_stored_depth_are_scored_now(holder: ModelHolder) -> None:
    served = holder.current
    resident = str(served.bundle.resident_ids()[3])
    k = served.lists.k + served.lists.depth + 5
    expected = served.bundle.recommend([resident], k, explain=True)
    picks, _ = served.recommend([resident], k)[0]
    assert [served.catalog.ids[p.service] for p in picks] == expected["service_id"].tolist()


def test_every_resident_has_one_stored_list(holder: ModelHolder) -> None:
    lists = holder.current.lists
    assert len(lists) == len(holder.current.bundle.resident_ids()) and len(lists.files) >= 2
    assert lists.nbytes > 0
    assert all(lists.locate(str(r)) is not None for r in holder.current.bundle.resident_ids()[:50])
    assert lists.locate("no-such-resident") is None


def test_in_memory_table_round_trips(holder: ModelHolder) -> None:
    bundle = holder.current.bundle
    ids = [str(r) for r in bundle.resident_ids()[:6]]
    lists = ListStore.of_table(score_lists(bundle, ids, 4, 2), 4, 2)
    for resident in ids:
        services, _ = lists.ranked(resident) or (None, None)
        assert services is not None and len(services) <= 6


def _register(registry: Registry, bundle: object, lists: Path) -> str:
    connect(registry.tracking_uri)
    with mlflow.start_run():
        log_lists(lists)
        version = log_bundle(bundle, BROKEN)  # type: ignore[arg-type]
    registry.client.set_registered_model_alias(BROKEN, "champion", version.version)
    return str(version.version)


def _wait_ready(client: TestClient, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/ready").text
        time.sleep(0.2)


def _corrupt(folder: Path) -> None:
    victim = sorted(folder.glob("*.arrow"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))


def _partial(folder: Path) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    dropped = manifest["files"].pop()
    (folder / dropped["file"]).unlink()
    (folder / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage", [_corrupt, _partial], ids=["corrupt", "partial"])
def test_damaged_lists_are_refused_and_the_old_version_keeps_serving(
    registry: Registry, holder: ModelHolder, tmp_path: Path, damage: object
) -> None:
    good = tmp_path / "good"
    shutil.copytree(_stored_folder(registry, "1"), good)
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    damage(bad)  # type: ignore[operator]
    _register(registry, holder.current.bundle, good)
    settings = make_settings(registry, tmp_path / "data", model_name=BROKEN)
    with TestClient(create_app(settings)) as client:
        _wait_ready(client)
        before = client.get("/models", headers=headers("admin")).json()["serving"]["version"]
        _register(registry, holder.current.bundle, bad)
        refused = client.post("/models/reload", headers=headers("admin"))
        assert refused.status_code == 409, refused.text
        resident = str(holder.current.bundle.resident_ids()[0])
        still = client.get(f"/recommendations/{resident}", headers=headers("platform"))
        assert still.status_code == 200 and still.json()["model_version"] == before


def test_a_manifest_that_differs_from_the_run_is_refused(
    registry: Registry, holder: ModelHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "lists"
    shutil.copytree(_stored_folder(registry, "1"), folder)
    bundle = holder.current.bundle
    with pytest.raises(ListStoreError, match="SHA-256 recorded on the run"):
        ListStore.open(folder, "0" * 64, len(bundle.resident_ids()), len(bundle.service_ids()))
    ok = ListStore.open(folder, sha256_file(folder / MANIFEST), len(bundle.resident_ids()), len(bundle.service_ids()))
    with pytest.raises(ListStoreError, match="partial"):
        ListStore.open(folder, None, len(bundle.resident_ids()) + 1, len(bundle.service_ids()))
    assert len(ok) == len(bundle.resident_ids())


def test_a_version_without_lists_is_refused(registry: Registry, holder: ModelHolder, tmp_path: Path) -> None:
    connect(registry.tracking_uri)
    with mlflow.start_run():
        version = log_bundle(holder.current.bundle, BROKEN)
    registry.client.set_registered_model_alias(BROKEN, "nolists", version.version)
    with pytest.raises(ModelLoadError, match="no stored lists"):
        ModelHolder(make_settings(registry, tmp_path, model_name=BROKEN)).load("nolists")


def test_reload_under_load_fails_no_request(registry: Registry, tmp_path: Path) -> None:
    settings: ServingSettings = make_settings(registry, tmp_path)
    seen: list[list[str]] = [[] for _ in range(4)]
    failures: list[str] = []
    stop = threading.Event()
    with run_server(settings) as server:
        import httpx

        residents = [f"R{i:07d}" for i in range(1, 60)]

        def hammer(mine: list[str]) -> None:
            with httpx.Client(base_url=server.url, headers=headers("platform"), timeout=60) as http:
                while not stop.is_set():
                    answer = http.get(f"/recommendations/{random.choice(residents)}", params={"k": 5})
                    if answer.status_code != 200:
                        failures.append(f"{answer.status_code} {answer.text[:200]}")
                    else:
                        mine.append(answer.json()["model_version"])

        threads = [threading.Thread(target=hammer, args=(s,)) for s in seen]
        for thread in threads:
            thread.start()
        try:
            while min(map(len, seen)) < 5:
                stop.wait(0.05)
            registry.set_champion("2")
            reloaded = httpx.post(f"{server.url}/models/reload", headers=headers("admin"), timeout=300)
            assert reloaded.status_code == 200, reloaded.text
            counts = [len(s) for s in seen]
            while any(len(s) < c + 5 for s, c in zip(seen, counts, strict=True)):
                stop.wait(0.05)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            registry.set_champion("1")
    assert failures == []
    for versions in seen:  # each client sees the old version, then only the new one
        assert versions and versions[0] == "1" and versions[-1] == "2"
        switch = versions.index("2")
        assert set(versions[:switch]) == {"1"} and set(versions[switch:]) == {"2"}


def test_partial_corrupt_or_misplaced_rule_inputs_are_refused(registry: Registry, holder: ModelHolder,
                                                              tmp_path: Path) -> None:
    bundle = holder.current.bundle
    sizes = (len(bundle.resident_ids()), len(bundle.service_ids()))
    source = _stored_folder(registry, "1")

    def damaged(name: str, change: object) -> Path:
        folder = tmp_path / name
        shutil.copytree(source, folder)
        manifest = json.loads((folder / MANIFEST).read_text())
        change(folder, manifest)  # type: ignore[operator]
        (folder / MANIFEST).write_text(json.dumps(manifest))
        return folder

    def partial(folder: Path, manifest: dict) -> None:
        manifest["files"][-1].pop("rules")

    def corrupt(folder: Path, manifest: dict) -> None:
        victim = folder / manifest["files"][0]["rules"]["file"]
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0xFF
        victim.write_bytes(bytes(data))

    def swapped(folder: Path, manifest: dict) -> None:  # checksums fine, rows of another bucket
        first, second = manifest["files"][0]["rules"], manifest["files"][1]["rules"]
        first["file"], second["file"] = second["file"], first["file"]
        first["sha256"], second["sha256"] = second["sha256"], first["sha256"]

    for change, message in ((partial, "partial"), (corrupt, "SHA-256"), (swapped, "rule inputs of|in its order")):
        with pytest.raises(ListStoreError, match=message):
            ListStore.open(damaged(change.__name__, change), None, *sizes)
    assert ListStore.open(source, None, *sizes).rules is not None
