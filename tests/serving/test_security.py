"""Issue 20, API side: every endpoint's 401/403, sign-out that ends a session, throttled key guessing, per-key
rate limits under concurrency, security headers, CORS off by default, hostile ids, keys never echoed or logged."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from pydantic import SecretStr

from serving.app import create_app
from serving.model_holder import ModelHolder
from serving.planner import COOKIE
from serving.rate_limit import TokenBuckets
from serving.settings import ServingSettings
from serving.store import FeedbackStore
from tests.serving.conftest import KEYS, TestClient, headers

#: Open endpoints (no key): probes, the sign-in form and its assets (``/openapi.json`` too, outside the schema).
OPEN = {("GET", "/health"), ("GET", "/ready"), ("GET", "/planner"),
        ("POST", "/planner/login"), ("POST", "/planner/logout"), ("GET", "/planner/assets/{name}")}
#: Every other endpoint → the roles admitted (admin always).
ACCESS = {
    ("GET", "/recommendations/{resident_id}"): {"platform"}, ("POST", "/recommendations"): {"platform"},
    ("POST", "/feedback"): {"platform"},
    ("POST", "/requests"): {"platform"}, ("GET", "/residents/{resident_id}/persona"): {"platform"},
    ("GET", "/segments"): {"planner"}, ("GET", "/planner/data"): {"planner"},
    ("GET", "/models"): set(), ("POST", "/models/reload"): set(), ("GET", "/audit"): set(),
    ("DELETE", "/residents/{resident_id}"): set(), ("GET", "/metrics"): set(),
}
HOSTILE_IDS = ["R0000001' OR '1'='1", "R0000001; DROP TABLE served_lists;--", "..%2F..%2Fetc%2Fpasswd",
               "....//....//etc", "R" * 5000, "R0000001\x00", "Ｒ０００００００１", "R0000001\u202e", "R\u200b0000001"]


def _routes(client: TestClient) -> set[tuple[str, str]]:
    """Every operation the API publishes in its schema."""
    paths = client.get("/openapi.json").json()["paths"]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def _call(client: TestClient, method: str, path: str, key: dict[str, str]) -> int:
    url = path.replace("{resident_id}", "R0000001")
    return client.request(method, url, headers=key).status_code


def test_the_matrix_covers_every_endpoint(client: TestClient) -> None:
    assert _routes(client) == OPEN | set(ACCESS), "a new endpoint needs its roles in ACCESS (or OPEN)"


@pytest.mark.parametrize(("method", "path"), sorted(ACCESS))
def test_every_endpoint_is_401_without_a_key_and_403_for_other_roles(client: TestClient, method: str,
                                                                    path: str) -> None:
    assert _call(client, method, path, {}) == 401
    assert _call(client, method, path, {"X-API-Key": "not-a-key"}) == 401
    for role in ("platform", "planner", "admin"):
        code = _call(client, method, path, headers(role))
        if role in ACCESS[(method, path)] | {"admin"}:
            assert code not in (401, 403), (role, code)
        else:
            assert code == 403, (role, code)


def test_sign_out_ends_the_session_in_every_process(settings: ServingSettings, holder: ModelHolder) -> None:
    shared = settings.model_copy(update={"session_secret": SecretStr("a-secret-shared-by-both-processes")})
    with TestClient(create_app(shared, holder=holder)) as first, TestClient(create_app(shared, holder=holder)) as other:
        first.post("/planner/login", data={"key": KEYS["planner"]}, follow_redirects=False)
        token = first.cookies[COOKIE]
        other.cookies.set(COOKIE, token)
        assert other.get("/planner/data", params={"level": "district", "id": "D01"}).status_code == 200
        first.post("/planner/logout")
        for client in (first, other):
            client.cookies.set(COOKIE, token)  # the old cookie, replayed
            assert client.get("/planner").status_code == 401
            assert client.get("/planner/data", params={"level": "district", "id": "D01"}).status_code == 401


def test_key_guessing_is_throttled_and_then_learns_nothing(client: TestClient, settings: ServingSettings) -> None:
    codes = [client.get("/models", headers={"X-API-Key": f"guess-{i}"}).status_code for i in range(200)]
    assert codes.count(401) <= settings.auth_failures_per_minute + 2 and codes[-1] == 429
    blocked = client.get("/models", headers=headers("admin"))  # even the right key: no oracle while blocked
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert client.post("/planner/login", data={"key": KEYS["planner"]}).status_code == 429


def test_a_key_rate_limit_holds_under_concurrent_requests(settings: ServingSettings, holder: ModelHolder) -> None:
    limited = settings.model_copy(update={"rate_limit_planner": 0.5, "rate_burst_seconds": 20.0})  # bucket of 10
    codes: list[int] = []
    with TestClient(create_app(limited, holder=holder)) as client:
        def hammer() -> None:
            for _ in range(5):
                answer = client.get("/segments", headers=headers("planner"))
                codes.append(answer.status_code)
                if answer.status_code == 429:
                    assert int(answer.headers["Retry-After"]) >= 1
        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert client.get("/segments", headers=headers("admin")).status_code == 200  # another key, its own bucket
    assert len(codes) == 40 and set(codes) == {200, 429}
    assert 10 <= codes.count(200) <= 13  # the burst, plus what refilled at 0.5/s while the test ran


def test_token_buckets_grant_exactly_their_capacity_to_racing_threads() -> None:
    buckets = TokenBuckets(rate=1e-9, capacity=25)
    granted: list[bool] = []
    barrier = threading.Barrier(50)

    def take() -> None:
        barrier.wait()
        granted.append(buckets.take("k1") == 0)
    threads = [threading.Thread(target=take) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 25


def test_security_headers_on_every_answer_and_cors_off(client: TestClient) -> None:
    for answer in (client.get("/health"), client.get("/segments", headers=headers("planner")),
                   client.get("/models"), client.get("/recommendations/R0000001", headers=headers("platform")),
                   client.get("/nope")):
        assert answer.headers["X-Content-Type-Options"] == "nosniff", answer.url
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["Cache-Control"] == "no-store"
    origin = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    assert "access-control-allow-origin" not in client.options("/segments", headers=origin).headers
    assert "access-control-allow-origin" not in client.get("/health", headers=origin).headers


def test_cors_answers_only_configured_origins(settings: ServingSettings, holder: ModelHolder) -> None:
    allowed = settings.model_copy(update={"cors_origins": ("https://portal.example",)})
    with TestClient(create_app(allowed, holder=holder)) as client:
        ok = client.get("/health", headers={"Origin": "https://portal.example"})
        assert ok.headers["access-control-allow-origin"] == "https://portal.example"
        assert "access-control-allow-origin" not in client.get("/health", headers={"Origin": "https://x.example"}).headers


@pytest.mark.parametrize("resident", HOSTILE_IDS, ids=range(len(HOSTILE_IDS)))
def test_hostile_ids_are_4xx_and_change_nothing(client: TestClient, store: FeedbackStore, served: dict[str, object],
                                                resident: str) -> None:
    before = (store.count_served(), store.count_events())
    platform, segment = headers("platform"), quote(resident, safe="")  # as a client encodes a path segment
    answers = [client.get(f"/recommendations/{segment}", headers=platform),
               client.get(f"/residents/{segment}/persona", headers=platform),
               client.post("/recommendations", json={"residents": [resident]}, headers=platform),
               client.post("/feedback", json={"request_id": served["request_id"], "resident_id": resident,
                                              "service_id": "SV001", "event": "click"}, headers=platform),
               client.get("/planner/data", params={"level": "district", "id": resident}, headers=headers("planner"))]
    for answer in answers:
        assert 400 <= answer.status_code < 500, (answer.request.url, answer.status_code)
    assert (store.count_served(), store.count_events()) == before


def test_keys_never_appear_in_answers_or_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answers = [client.get(f"/models?api_key={KEYS['admin']}"), client.get(f"/models?key={KEYS['planner']}"),
               client.get("/models", headers={"X-API-Key": KEYS["admin"] + "x"}),
               client.get("/models", headers=headers("planner")),
               client.post("/planner/login", data={"key": KEYS["platform"]}),
               client.get("/audit", headers=headers("admin"))]
    assert [a.status_code for a in answers[:2]] == [401, 401]  # keys are read from the header only
    for answer in answers:
        for key in KEYS.values():
            assert key not in answer.text and key not in str(answer.headers)
    server_log = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    for key in KEYS.values():
        assert key not in server_log
    assert KEYS["admin"] not in str(answers[-1].json())  # nor in the audit log


def test_keys_rotate_and_revoke_without_a_restart(settings: ServingSettings, holder: ModelHolder,
                                                  tmp_path: Path) -> None:
    from serving.key_file import new_entry, read_file, write_file

    path = tmp_path / "api_keys"
    planner, planner_key = new_entry("planner")
    write_file(path, [planner])
    with TestClient(create_app(settings.model_copy(update={"api_keys_file": path}), holder=holder)) as client:
        assert client.get("/segments", headers={"X-API-Key": planner_key}).status_code == 200
        client.post("/planner/login", data={"key": planner_key}, follow_redirects=False)
        second, second_key = new_entry("planner")
        write_file(path, [*read_file(path, frozenset({"planner"})), second])
        assert client.get("/segments", headers={"X-API-Key": second_key}).status_code == 200
        write_file(path, [second])  # revoke the first: its key and its sessions stop at once
        assert client.get("/segments", headers={"X-API-Key": planner_key}).status_code == 401
        assert client.get("/planner").status_code == 401
        assert client.get("/segments", headers={"X-API-Key": second_key}).status_code == 200
