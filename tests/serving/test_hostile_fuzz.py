"""Issue 15: a schemathesis run with non-finite numbers, lone surrogates and NULs allowed finds no 500.

Schemathesis generates valid and invalid requests from ``/openapi.json`` with any Unicode (lone surrogates
included, ``codec=None``) and NULs allowed; each generated request is then sent once more with one value of
its JSON body (or one query parameter) replaced by a hostile one: NaN, ±Infinity, a NUL, a lone surrogate,
``true`` or ``10.0`` for an integer, a 5,000-character string, a 40-digit number. Every answer must be below
500, be JSON, and echo no more than a short excerpt. Bounded: at most 25 examples per operation,
derandomized, so the run is repeatable.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.serving.conftest import TestClient, headers

OPERATIONS = [("POST", "/feedback"), ("POST", "/recommendations"), ("GET", "/recommendations/{resident_id}"),
              ("GET", "/residents/{resident_id}/persona"), ("GET", "/segments"), ("GET", "/models"),
              ("GET", "/planner/data")]
BODY_VALUES = [float("nan"), float("inf"), float("-inf"), "\x00", "a\x00b", "\ud800", "x\udfffy", True, 10.0,
               "长" * 5000, 10**40, -1e308, {"\ud800": "\x00"}, ["\x00"]]
QUERY_VALUES = ["NaN", "Infinity", "-inf", "\x00", "10.0", "true", "1e1", "../..", "x" * 5000]


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of a JSON value, depth first, for one of them to be replaced."""
    found: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((value, key))
            found.extend(_slots(child))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.append((value, index))
            found.extend(_slots(child))
    return found


def _send(client: TestClient, case: schemathesis.Case, body: Any, query: dict[str, Any] | None) -> Any:
    content = None if body is None else json.dumps(body, allow_nan=True)
    return client.request(case.method, case.formatted_path, params=query, content=content,
                          headers={**headers("admin"), "Content-Type": "application/json"})


def _check(response: Any) -> None:
    assert response.status_code < 500, response.text[:300]
    if response.headers.get("content-type", "").startswith("application/json"):
        json.loads(response.content)  # the answer itself is valid JSON (no NaN, no lone surrogate)
        if response.status_code >= 400:
            assert len(response.content) < 4000, response.text[:300]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_hostile_values_never_give_a_500(client: TestClient, method: str, path: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    schema.config.generation.codec = None  # any code point, lone surrogates included
    schema.config.generation.allow_x00 = True
    operation = schema[path][method]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases, body_value=st.sampled_from(BODY_VALUES), query_value=st.sampled_from(QUERY_VALUES),
           pick=st.integers(min_value=0, max_value=10_000))
    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def fuzz(case: schemathesis.Case, body_value: Any, query_value: str, pick: int) -> None:
        body = case.body if isinstance(case.body, dict | list) else None
        query = dict(case.query) if isinstance(case.query, dict) else None
        _check(_send(client, case, body, query))
        hostile_body = json.loads(json.dumps(body)) if body is not None else None
        slots = _slots(hostile_body)
        if slots:
            container, key = slots[pick % len(slots)]
            container[key] = body_value
        elif query:
            query[sorted(query)[pick % len(query)]] = query_value
        _check(_send(client, case, hostile_body, query))

    fuzz()
