"""Structured logs: JSON lines with the request id, and no API key in any line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from serving.log_redaction import MASK, redact_text
from serving.logging_json import JsonFormatter, RequestIdFilter
from tests.serving.conftest import KEYS, headers


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every record of the ``serving`` loggers, as the server's JSON formatter writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("serving")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def test_a_client_request_id_is_answered_and_logged(client: TestClient, json_log: io.StringIO) -> None:
    rid = "trace-0123456789abcdef"
    bad = {"request_id": "x", "resident_id": "R0000001", "service_id": "SV001", "event": "no-such-event"}
    response = client.post("/feedback", json=bad, headers={**headers("platform"), "X-Request-ID": rid})
    assert response.status_code == 422 and response.headers["X-Request-ID"] == rid
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert lines and all({"ts", "level", "logger", "pid", "request_id", "message"} <= set(line) for line in lines)
    assert any(line["request_id"] == rid and line["logger"] == "serving.errors" for line in lines)


@pytest.mark.parametrize("sent", ["short", "x" * 65, "has space inside", "new\nline-injected"])
def test_an_unsafe_request_id_is_replaced(client: TestClient, sent: str) -> None:
    response = client.get("/health", headers={"X-Request-ID": sent.replace("\n", "%0A")})
    assert response.headers["X-Request-ID"] != sent.replace("\n", "%0A")
    assert len(response.headers["X-Request-ID"]) == 32


def test_no_key_reaches_a_log_line(client: TestClient, json_log: io.StringIO) -> None:
    logging.getLogger("serving.test").warning(
        "GET /models?api_key=%s&level=district; X-API-Key: %s", KEYS["admin"], KEYS["planner"]
    )
    client.get("/models", params={"api_key": KEYS["admin"]})
    client.get("/models", headers={"X-API-Key": KEYS["admin"] + "-wrong"})
    text = json_log.getvalue()
    assert f"api_key={MASK}&level=district" in text
    for key in KEYS.values():
        assert key not in text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("GET /models?api_key=abc123&k=5 HTTP/1.1", f"GET /models?api_key={MASK}&k=5 HTTP/1.1"),
        ("a=1&session_token=zz", f"a=1&session_token={MASK}"),
        ('{"X-API-Key": "sekret"}', f'{{"X-API-Key": "{MASK}"}}'),
        ("served 3 list(s) for k=5", "served 3 list(s) for k=5"),
    ],
)
def test_redact_text(text: str, shown: str) -> None:
    assert redact_text(text) == shown
