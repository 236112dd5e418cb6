"""API keys and roles: 401 without a valid key, 403 for a role that may not, health and ready open, keys never
logged or echoed."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from serving.auth import ApiKeyConfigError, Role, keys_from_settings, parse_keys, write_new_keys
from serving.key_file import KeyRing
from serving.settings import ServingSettings
from tests.serving.conftest import KEYS, TestClient, headers

#: (method, path, body) → expected status per role (platform, planner, admin).
MATRIX = [
    (("GET", "/recommendations/R0000001", None), (200, 403, 200)),
    (("POST", "/recommendations", {"residents": ["R0000001"]}), (200, 403, 200)),
    (("POST", "/feedback", {"request_id": "nope", "resident_id": "R0000001", "service_id": "SV001",
                            "event": "click"}), (404, 403, 404)),
    (("GET", "/residents/R0000001/persona", None), (200, 403, 200)),
    (("GET", "/segments", None), (403, 200, 200)),
    (("GET", "/segments?level=community", None), (403, 200, 200)),
    (("GET", "/models", None), (403, 403, 200)),
    (("POST", "/models/reload", None), (403, 403, None)),  # admin reloads are tested in test_models
]


def _call(client: TestClient, request: tuple[str, str, object], key_headers: dict[str, str]) -> int:
    method, path, body = request
    return client.request(method, path, json=body, headers=key_headers).status_code


@pytest.mark.parametrize(("request_", "expected"), MATRIX, ids=[f"{m} {p}" for (m, p, _), _ in MATRIX])
def test_role_matrix(client: TestClient, request_: tuple[str, str, object], expected: tuple[int | None, ...]) -> None:
    for role, status in zip(("platform", "planner", "admin"), expected, strict=True):
        if status is not None:
            assert _call(client, request_, headers(role)) == status, role
    assert _call(client, request_, {}) == 401
    assert _call(client, request_, {"X-API-Key": "wrong-key"}) == 401
    assert _call(client, request_, {"X-API-Key": ""}) == 401


def test_errors_say_what_to_do_and_never_echo_keys(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    missing = client.get("/models")
    assert missing.status_code == 401 and "X-API-Key" in missing.json()["detail"]
    wrong = client.get("/models", headers={"X-API-Key": "secret-guess-987"})
    assert "secret-guess-987" not in wrong.text
    forbidden = client.get("/models", headers=headers("planner"))
    assert forbidden.status_code == 403 and "planner" in forbidden.json()["detail"]
    assert KEYS["planner"] not in forbidden.text
    client.get("/recommendations/R0000001", headers=headers("platform"))
    for key in (*KEYS.values(), "secret-guess-987"):
        assert key not in caplog.text


def test_health_ready_and_schema_are_open(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["status"] == "ready"
    schema = client.get("/openapi.json").json()
    assert "X-API-Key" in str(schema["components"]["securitySchemes"])
    assert client.get("/docs").status_code == 404  # off unless LINLI_API_DOCS=true (test_hostile_api)


def test_header_name_is_case_insensitive(client: TestClient) -> None:
    assert client.get("/segments", headers={"x-api-key": KEYS["planner"]}).status_code == 200


def _ring(text: str) -> KeyRing:
    return KeyRing(parse_keys(text), None, frozenset(r.value for r in Role))


def _role(ring: KeyRing, key: str) -> str | None:
    entry = ring.identify(key)
    return None if entry is None else entry.role


def test_parse_roles_comments_and_new_lines() -> None:
    keys = _ring("platform:aaa, planner:bbb\n# a comment\nadmin : ccc:with:colons\n")
    assert [_role(keys, k) for k in ("aaa", "bbb", "ccc:with:colons", "zzz", "")] == [
        Role.PLATFORM, Role.PLANNER, Role.ADMIN, None, None]
    assert [e.key_id for e in keys.entries()] == ["env1", "env2", "env3"]


@pytest.mark.parametrize("text", ["root:topsecret-1", "platform", "platform:", "topsecret-1"])
def test_bad_key_config_is_an_error_without_the_key(text: str) -> None:
    with pytest.raises(ApiKeyConfigError) as error:
        parse_keys(text)
    assert "topsecret-1" not in str(error.value) and "role" in str(error.value)


def test_keys_file_adds_to_the_variable_and_holds_no_key(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    made = write_new_keys(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not any(key in path.read_text() for key in made.values())  # only salted digests on disk
    settings = ServingSettings(data_dir=tmp_path, api_keys="platform:from-env", api_keys_file=path)
    keys = keys_from_settings(settings)
    assert {_role(keys, key) for key in made.values()} == set(Role)
    assert _role(keys, "from-env") == Role.PLATFORM
    with pytest.raises(FileExistsError):
        write_new_keys(path)
    missing = ServingSettings(data_dir=tmp_path, api_keys_file=tmp_path / "absent")
    with pytest.raises(ApiKeyConfigError, match="LINLI_API_KEYS_FILE"):
        keys_from_settings(missing)


def test_a_plain_keys_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("platform:plain-secret-123\n")
    with pytest.raises(ApiKeyConfigError, match="linli keys import") as error:
        keys_from_settings(ServingSettings(data_dir=tmp_path, api_keys_file=path))
    assert "plain-secret-123" not in str(error.value)


def test_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LINLI_API_KEYS", "planner:env-key-1")
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path))
    assert _role(keys_from_settings(ServingSettings()), "env-key-1") == Role.PLANNER
