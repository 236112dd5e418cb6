"""The whole privacy chain as a deployment runs it, with both keys set: a platform export with raw ids →
``linli train`` → ``linli serve`` (recommendations, feedback with comments, persona) → ``DELETE /residents/{id}``
→ 404 → ``linli train`` again. Then every file Linli wrote (stores, MLflow artifacts, caches, logs) is searched for
a raw id and a comment in plain text.

One small community (300 residents), a small model (popular + persona_popular, 30 trees): a few minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from experiments.local_server import start_server
from features.sources.synthetic import generate_community
from privacy.pseudonym import Pseudonymiser
from serving.audit import AuditLog
from serving.store import FeedbackStore
from serving.store_privacy import erased
from tests.privacy.conftest import ENCRYPTION_KEY, PSEUDONYM_KEY
from tests.privacy.raw_id_search import files_holding

KEYS = {"platform": "platform-key-0123456789", "planner": "planner-key-0123456789", "admin": "admin-key-0123456789"}
COMMENT = "健身房的器材太旧了需要更新"
CONFIG = """test_weeks = 2
single_models = ["popular"]
[hybrid]
ranker_bags = 1
[hybrid.generators.popular]
[hybrid.generators.persona_popular]
[hybrid.ranker]
n_estimators = 30
"""


@dataclass
class Chain:
    """What the run left behind and what it saw."""

    data: Path
    source: Path
    raw_ids: list[str]
    victim: str
    neighbour: str
    answers: dict[str, int]
    erasure: dict[str, Any]
    cache_leaks: dict[str, list[str]]
    first_version: str
    second_version: str
    second_ids: set[str]


def _linli(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "linli", *args], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _bundle_ids(tracking_uri: str, model_name: str, version: str) -> set[str]:
    import mlflow
    from mlflow import MlflowClient

    from training.tracking import read_verified_bundle

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    meta = client.get_model_version(model_name, version)
    local = mlflow.artifacts.download_artifacts(artifact_uri=client.get_model_version_download_uri(
        model_name, version), tracking_uri=tracking_uri)
    bundle = read_verified_bundle(local, client.get_run(str(meta.run_id)).data.tags)
    return {str(r) for r in bundle.resident_ids()}


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    root = tmp_path_factory.mktemp("privacy-chain")
    source, data = root / "platform-export", root / "linli"
    community = generate_community(residents=300, seed=5, weeks=10)  # no key yet: the platform's raw ids
    source.mkdir()
    for name, frame in community.frames.items():
        frame.to_parquet(source / f"{name}.parquet", index=False)
    (root / "small.toml").write_text(CONFIG)
    raw_ids = community.frames["residents"]["resident_id"].astype(str).tolist()
    active = community.frames["interactions"]["resident_id"].value_counts().index.astype(str).tolist()
    victim, neighbour = active[0], active[1]
    tracking_uri = f"sqlite:///{data / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith(("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "LINLI_"))]:
            env.delenv(name)
        for name, value in {"LINLI_PSEUDONYM_KEY": PSEUDONYM_KEY, "LINLI_ENCRYPTION_KEY": ENCRYPTION_KEY,
                            "LINLI_DATA_DIR": str(data), "LINLI_DATABASE_URL": f"sqlite:///{data / 'feedback.db'}",
                            "LINLI_EXPLORATION_RATE": "0", "OPENBLAS_NUM_THREADS": "1"}.items():
            env.setenv(name, value)
        train = ("train", "--data", str(source), "--config", str(root / "small.toml"), "--now", "2026-11-02",
                 "--json")
        first = json.loads(_linli(*train).stdout)
        answers: dict[str, int] = {}
        with start_server(data, KEYS, tracking_uri, "linli-recommender") as server, \
                httpx.Client(base_url=server.url, timeout=60) as http:
            platform, admin = {"X-API-Key": KEYS["platform"]}, {"X-API-Key": KEYS["admin"]}
            for resident in (victim, neighbour):
                got = http.get(f"/recommendations/{resident}", headers=platform)
                assert got.status_code == 200 and got.json()["resident_id"] == resident, got.text
                top = got.json()["data"][0]["service_id"]
                sent = http.post("/feedback", headers=platform, json={
                    "request_id": got.json()["request_id"], "resident_id": resident, "service_id": top,
                    "event": "rate", "rating": 4, "comment": COMMENT})
                assert sent.status_code == 201, sent.text
            answers["persona before"] = http.get(f"/residents/{victim}/persona", headers=platform).status_code
            cache = list(data.rglob("*.arrow"))
            assert cache, "the version stored no lists"
            cache_leaks = files_holding(cache, raw_ids)
            answers["erase by platform"] = http.delete(f"/residents/{victim}", headers=platform).status_code
            gone = http.delete(f"/residents/{victim}", headers=admin)
            answers["erase"] = gone.status_code
            answers["recommend after"] = http.get(f"/recommendations/{victim}", headers=platform).status_code
            answers["batch after"] = http.post("/recommendations", headers=platform,
                                               json={"residents": [victim]}).status_code
            answers["persona after"] = http.get(f"/residents/{victim}/persona", headers=platform).status_code
            answers["neighbour after"] = http.get(f"/recommendations/{neighbour}", headers=platform).status_code
        second = json.loads(_linli(*train).stdout)
        version = str(second["model_version"])
        yield Chain(data, source, raw_ids, victim, neighbour, answers, gone.json(), cache_leaks,
                    str(first["model_version"]), version, _bundle_ids(tracking_uri, "linli-recommender", version))


def test_an_erased_resident_is_gone_from_serving_the_store_and_the_next_version(chain: Chain) -> None:
    p = Pseudonymiser(PSEUDONYM_KEY.encode())
    assert chain.answers == {"persona before": 200, "erase by platform": 403, "erase": 200, "recommend after": 404,
                             "batch after": 404, "persona after": 404, "neighbour after": 200}
    assert chain.erasure["rows_deleted"]["served_lists"] >= 1 and chain.erasure["rows_deleted"]["feedback_events"] == 1
    assert chain.erasure["cached_lists_dropped"] == 0  # lists are mapped in place from the local artifact store
    with FeedbackStore(f"sqlite:///{chain.data / 'feedback.db'}") as store:
        assert erased(store) == {p.one(chain.victim)}
        served, events = set(store.served()["resident_id"]), store.events()
        audit = AuditLog(store)
        erasures = [(r["action"], r["role"], r["target"]) for r in audit.rows() if r["action"] == "erasure"]
        assert erasures == [("erasure", "admin", p.one(chain.victim))] and audit.verify().ok
        audit.close()
    assert p.one(chain.victim) not in served | set(events["resident_id"])
    assert p.one(chain.neighbour) in served and events["comment"].tolist() == [COMMENT]
    assert chain.second_version != chain.first_version
    assert p.one(chain.victim) not in chain.second_ids and p.one(chain.neighbour) in chain.second_ids


def test_no_raw_id_and_no_plain_comment_in_anything_linli_wrote(chain: Chain) -> None:
    written = [path for path in chain.data.rglob("*") if path.is_file()]
    kinds = {path.suffix for path in written}
    assert {".db", ".log", ".json"} <= kinds, kinds  # the stores, the server log, MLflow's files
    assert files_holding(chain.source.glob("*.parquet"), chain.raw_ids)  # the search finds what is there
    logs = "".join(path.read_text() for path in chain.data.glob("server-*.log"))
    victim = Pseudonymiser(PSEUDONYM_KEY.encode()).one(chain.victim)
    assert f"DELETE /residents/{victim} " in logs  # the access log was on, and names the pseudonym
    assert chain.cache_leaks == {}  # the stored lists hold pseudonyms only
    assert files_holding(written, chain.raw_ids) == {}
    assert files_holding(written, [COMMENT]) == {}
