"""The audit log: every planner and admin call recorded with key id, role, address and answer; the SM3 chain
catches an edited or deleted row (``linli audit --verify``); rows append safely from many threads, on SQLite
and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from linli.cli import app as cli
from serving.audit import AuditLog
from serving.store import FeedbackStore
from tests.serving.conftest import KEYS, TestClient, app_state, headers
from tests.serving.test_store import Backend, backend  # noqa: F401  (the SQLite/PostgreSQL fixture)


@pytest.fixture
def log(backend: Backend) -> Iterator[AuditLog]:  # noqa: F811
    with backend.open() as store:
        audit = AuditLog(store)
        yield audit
        audit.close()


def _table(log: AuditLog) -> str:
    return f"{log.store.schema}.audit_log" if log.store.schema else "audit_log"


def _execute(log: AuditLog, sql: str) -> None:
    engine = sa.create_engine(log.store.url)
    with engine.begin() as conn:
        conn.execute(sa.text(sql.replace("audit_log", _table(log))))
    engine.dispose()


def _fill(log: AuditLog, rows: int = 5) -> None:
    for i in range(rows):
        log.append("GET /segments", key_id="env2", role="planner", target=f"/segments?level=district&i={i}",
                   address="10.0.0.7", status=200)


def test_an_intact_chain_verifies(log: AuditLog) -> None:
    _fill(log)
    result = log.verify()
    assert result.ok and result.rows == 5 and result.head_seq == 5 and len(result.head_hash) == 64
    assert [r["prev_hash"] for r in log.rows()][1:] == [r["hash"] for r in log.rows()][:-1]


@pytest.mark.parametrize(("tamper", "found"), [
    ("UPDATE audit_log SET status = 404 WHERE seq = 3", "row 3 was edited"),
    ("UPDATE audit_log SET key_id = 'someone-else' WHERE seq = 2", "row 2 was edited"),
    ("DELETE FROM audit_log WHERE seq = 3", "rows 3–3 are missing"),
    ("DELETE FROM audit_log WHERE seq = 1", "rows 1–1 are missing"),
])
def test_an_edited_or_deleted_row_is_detected(log: AuditLog, tamper: str, found: str) -> None:
    _fill(log)
    _execute(log, tamper)
    result = log.verify()
    assert not result.ok and found in str(result.problem)


def test_a_deleted_row_with_renumbering_still_breaks_the_chain(log: AuditLog) -> None:
    _fill(log)
    _execute(log, "DELETE FROM audit_log WHERE seq = 2")
    _execute(log, "UPDATE audit_log SET seq = seq - 1 WHERE seq > 2")
    result = log.verify()
    assert not result.ok and "does not follow" in str(result.problem)


def test_concurrent_appends_keep_one_chain(log: AuditLog) -> None:
    def append() -> None:
        for _ in range(10):
            log.append("GET /models", key_id="env3", role="admin", status=200)
    threads = [threading.Thread(target=append) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = log.verify()
    assert result.ok and result.rows == 60


def test_cli_prints_and_verifies(log: AuditLog) -> None:
    _fill(log, 3)
    env = {"LINLI_DATABASE_URL": log.store.url} if not log.store.schema else None
    if env is None:
        pytest.skip("the CLI reads a PostgreSQL store's default schema; the schema-bound store is tested above")
    runner = CliRunner()
    printed = runner.invoke(cli, ["audit", "--since", "2000-01-01T00:00+08:00"], env=env)
    assert printed.exit_code == 0 and printed.stdout.count("planner") == 3 and "10.0.0.7" in printed.stdout
    assert runner.invoke(cli, ["audit", "--verify"], env=env).exit_code == 0
    _execute(log, "UPDATE audit_log SET target = '/elsewhere' WHERE seq = 2")
    broken = runner.invoke(cli, ["audit", "--verify"], env=env)
    assert broken.exit_code == 1 and "row 2 was edited" in broken.stdout


def test_planner_and_admin_calls_and_refusals_are_recorded(client: TestClient) -> None:
    client.get("/recommendations/R0000001", headers=headers("platform"))  # platform reads: not audited
    client.get("/segments", params={"level": "district"}, headers=headers("planner"))
    client.get("/models", headers=headers("planner"))  # refused: audited
    client.get("/residents/R0000001/persona", headers=headers("admin"))
    rows = app_state(client).audit.rows()
    assert [(r["key_id"], r["role"], r["action"], r["status"]) for r in rows] == [
        ("env2", "planner", "GET /segments", 200), ("env2", "planner", "GET /models", 403),
        ("env3", "admin", "GET /residents/{resident_id}/persona", 200)]
    assert rows[0]["target"] == "/segments?level=district" and rows[0]["address"] == "testclient"
    assert rows[2]["target"] == "/residents/R0000001/persona"
    assert app_state(client).audit.verify().ok


def test_get_audit_is_admin_only_and_filters_by_time(client: TestClient) -> None:
    client.get("/segments", headers=headers("planner"))
    assert client.get("/audit", headers=headers("planner")).status_code == 403
    answer = client.get("/audit", headers=headers("admin")).json()
    assert answer["count"] == 2 and answer["data"][0]["action"] == "GET /segments"  # the 403 above
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get("/audit", params={"since": later}, headers=headers("admin")).json()["count"] == 0
    assert client.get("/audit", params={"since": "yesterday"}, headers=headers("admin")).status_code == 422
    assert not any(key in str(answer) for key in KEYS.values())


def test_sign_in_and_out_are_recorded(client: TestClient) -> None:
    client.post("/planner/login", data={"key": KEYS["planner"]}, follow_redirects=False)
    client.post("/planner/logout", follow_redirects=False)
    actions = [(r["action"], r["status"]) for r in app_state(client).audit.rows()]
    assert actions == [("POST /planner/login", 303), ("POST /planner/logout", 303)]


def test_key_changes_by_the_cli_are_recorded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/feedback.db"
    env = {"LINLI_DATABASE_URL": url, "LINLI_DATA_DIR": str(tmp_path), "LINLI_API_KEYS_FILE": f"{tmp_path}/keys"}
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "new", "--role", "planner"], env=env)
    assert made.exit_code == 0
    key = made.stdout.strip().splitlines()[-1]
    listed = runner.invoke(cli, ["keys", "list"], env=env).stdout
    key_id = listed.split()[0]
    assert key not in listed and key not in (tmp_path / "keys").read_text()
    assert runner.invoke(cli, ["keys", "rotate", key_id], env=env).exit_code == 0
    new_id = runner.invoke(cli, ["keys", "list"], env=env).stdout.split()[0]
    assert runner.invoke(cli, ["keys", "revoke", new_id], env=env).exit_code == 0
    assert runner.invoke(cli, ["keys", "revoke", "nope"], env=env).exit_code == 2
    with FeedbackStore(url) as store:
        audit = AuditLog(store)
        rows = audit.rows()
        assert [r["action"] for r in rows] == ["key.new", "key.rotate", "key.revoke", "key.revoke"]
        assert all(key not in str(r) for r in rows) and audit.verify().ok
        audit.close()


def test_alias_moves_of_linli_train_are_recorded_where_the_store_exists(tmp_path: Path) -> None:
    from linli.security_commands import record_alias_move

    absent = tmp_path / "none" / "feedback.db"
    record_alias_move(f"sqlite:///{absent}", "linli-recommender", "champion", "3")
    assert not absent.exists()  # no store is created just to audit
    url = f"sqlite:///{tmp_path}/feedback.db"
    with FeedbackStore(url) as store:
        store.create_schema()
        record_alias_move(url, "linli-recommender", "champion", "3")
        audit = AuditLog(store)
        assert [(r["action"], r["target"]) for r in audit.rows()] == [
            ("alias.move", "linli-recommender@champion -> version 3")]
        audit.close()
