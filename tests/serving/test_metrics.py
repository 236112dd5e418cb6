"""``GET /metrics``: Prometheus text that parses, counts what happened, and names routes by template."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from experiments.local_server import free_port
from serving.metrics import serve_metrics_port
from tests.serving.conftest import headers

ROUTE = "/recommendations/{resident_id}"


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics", headers=headers("admin"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return _samples(response.text)


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_lists_and_feedback(client: TestClient) -> None:
    before = _scrape(client)
    lists = [client.get("/recommendations/R0000001", headers=headers("platform")) for _ in range(3)]
    assert all(r.status_code == 200 for r in lists)
    first = lists[0].json()
    event = {
        "request_id": first["request_id"],
        "resident_id": "R0000001",
        "service_id": first["data"][0]["service_id"],
        "event": "click",
        "timestamp": datetime.now(UTC).isoformat(),
    }  # the same timestamp twice: a duplicate
    assert client.post("/feedback", json=event, headers=headers("platform")).status_code == 201
    assert client.post("/feedback", json=event, headers=headers("platform")).status_code == 201  # a duplicate
    unknown = {**event, "request_id": "no-such-request"}
    assert client.post("/feedback", json=unknown, headers=headers("platform")).status_code == 404
    after = _scrape(client)

    def rose(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert rose("linli_http_requests_total", method="GET", route=ROUTE, status="200") == 3
    assert rose("linli_http_request_duration_seconds_count", method="GET", route=ROUTE) == 3
    assert rose("linli_http_requests_total", method="POST", route="/feedback", status="404") == 1
    assert rose("linli_lists_served_total", model_version="1", variant="champion") == 3
    assert rose("linli_feedback_events_total", outcome="accepted") == 1
    assert rose("linli_feedback_events_total", outcome="duplicate") == 1
    assert rose("linli_feedback_events_total", outcome="refused") == 1
    assert rose("linli_store_commit_seconds_count", table="feedback_events") == 2
    assert rose("linli_store_commit_seconds_count", table="served_lists") >= 1  # concurrent lists share a commit
    assert _value(after, "linli_served_model_version", variant="champion") == 1
    assert _value(after, "linli_served_version_age_seconds", variant="champion") > 0
    # labels name route templates, never a resident
    assert not any("R0000001" in value for _, labels in after for _, value in labels)


def test_metrics_need_an_admin_key(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=headers("platform")).status_code == 403
    assert client.get("/metrics", headers=headers("planner")).status_code == 403


def test_the_metrics_port_needs_no_key_and_says_the_same(client: TestClient) -> None:
    client.get("/health")
    port = free_port()
    server = serve_metrics_port(port)
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        server.shutdown()
        server.server_close()
    assert _value(_samples(text), "linli_http_requests_total", method="GET", route="/health", status="200") >= 1
