"""``linli erase`` and ``linli privacy`` as an operator runs them: real processes on a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from privacy.pseudonym import Pseudonymiser
from serving.audit import AuditLog
from serving.feedback_models import FeedbackEvent, ServedItem, ServedList
from serving.store import FeedbackStore
from serving.store_privacy import erased
from tests.privacy.conftest import PSEUDONYM_KEY

P = Pseudonymiser(PSEUDONYM_KEY.encode())


def _linli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "MLFLOW_TRACKING_URI"))}
    return subprocess.run([sys.executable, "-m", "linli", *args], capture_output=True, text=True, timeout=120,
                          env={**base, "LINLI_PSEUDONYM_KEY": PSEUDONYM_KEY, **env})


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A SQLite store with one list and one event for R1 (15 Oct) and R2 (20 Nov), stored under pseudonyms."""
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    with FeedbackStore(url) as store:
        store.create_schema()
        for request_id, resident, day in (("a", "R1", datetime(2026, 10, 15)), ("b", "R2", datetime(2026, 11, 20))):
            store.log_served(ServedList(request_id=request_id, resident_id=P.one(resident), model_version="1",
                                        served_at=day, items=[ServedItem(service_id="S1", position=1, score=1.0)]))
            store.add_events([FeedbackEvent(request_id=request_id, resident_id=P.one(resident), service_id="S1",
                                            event="click", timestamp=day)])
    return url


def test_erase_takes_the_platforms_id_and_records_the_pseudonym(url: str, tmp_path: Path) -> None:
    done = _linli("erase", "--resident", "R1", "--store", url, "--json", LINLI_DATA_DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["resident_id"] == P.one("R1") and "R1" not in done.stdout
    assert report["rows_deleted"] == {"feedback_events": 1, "served_items": 1, "served_lists": 1, "requests": 0}
    with FeedbackStore(url) as store:
        assert erased(store) == {P.one("R1")}
        assert set(store.served()["resident_id"]) == {P.one("R2")}
        audit = AuditLog(store)
        assert [(r["action"], r["target"]) for r in audit.rows()] == [("erasure", P.one("R1"))]
        audit.close()


def test_purge_is_idempotent_and_needs_a_period(url: str) -> None:
    first = _linli("privacy", "purge", "--store", url, "--now", "2026-11-25", "--json", LINLI_RETENTION_DAYS="30")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["rows_deleted"] == {"feedback_events": 1, "served_items": 1, "served_lists": 1,
                                                        "requests": 0}
    again = _linli("privacy", "purge", "--days", "30", "--store", url, "--now", "2026-11-25", "--json")
    assert set(json.loads(again.stdout)["rows_deleted"].values()) == {0}
    missing = _linli("privacy", "purge", "--store", url)
    assert missing.returncode == 2 and "LINLI_RETENTION_DAYS" in missing.stderr


def test_rekey_without_the_old_key_refuses_and_changes_nothing(url: str, tmp_path: Path) -> None:
    source = tmp_path / "export"
    source.mkdir()
    import pandas as pd

    pd.DataFrame({"resident_id": ["R1", "R2"]}).to_csv(source / "residents.csv", index=False)
    for name in ("communities", "services", "interactions"):
        (source / f"{name}.csv").write_text("x\n")
    refused = _linli("privacy", "rekey", "--data", str(source), "--store", url)
    assert refused.returncode == 2 and "LINLI_OLD_PSEUDONYM_KEY" in refused.stderr
    done = _linli("privacy", "rekey", "--data", str(source), "--store", url, "--json",
                  LINLI_OLD_PSEUDONYM_KEY=PSEUDONYM_KEY, LINLI_PSEUDONYM_KEY="a new key", LINLI_DATA_DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    with FeedbackStore(url) as store:
        assert set(store.served()["resident_id"]) == {Pseudonymiser(b"a new key").one(r) for r in ("R1", "R2")}


def test_train_with_the_wrong_sm4_key_says_so(url: str, tmp_path: Path) -> None:
    with FeedbackStore(url) as store:
        store.log_served(ServedList(request_id="c", resident_id=P.one("R3"), model_version="1",
                                    served_at=datetime(2026, 11, 1), items=[]))
    os.environ["LINLI_ENCRYPTION_KEY"] = "11" * 16
    try:
        with FeedbackStore(url) as store:
            store.add_events([FeedbackEvent(request_id="c", resident_id=P.one("R3"), service_id="S1", event="rate",
                                            rating=3, comment="太远了", timestamp=datetime(2026, 11, 1))])
    finally:
        del os.environ["LINLI_ENCRYPTION_KEY"]
    from features.sources.synthetic import generate_community

    folder = generate_community(residents=100, seed=1, weeks=4).write(tmp_path / "export")
    done = _linli("train", "--data", str(folder), "--feedback", url,
                  LINLI_ENCRYPTION_KEY="22" * 16, LINLI_DATA_DIR=str(tmp_path))
    assert done.returncode == 2 and "encrypted under key id" in done.stderr, done.stderr
