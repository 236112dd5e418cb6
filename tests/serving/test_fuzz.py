"""Bounded schemathesis run against the API's own ``/openapi.json``: generated valid and invalid requests for
every operation never get a 5xx, and every answer matches the documented status codes and schemas, for an
admin and a platform key.

``POST /models/reload`` is left out (each call reloads the model; it has its own tests). Each operation gets
at most 30 generated requests, derandomized, so the run is bounded and repeatable.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.result import Err, Ok
from schemathesis.schemas import APIOperation

from tests.serving.conftest import TestClient, headers

OPERATIONS = [("GET", "/recommendations/{resident_id}"), ("POST", "/recommendations"), ("POST", "/feedback"),
              ("GET", "/residents/{resident_id}/persona"), ("GET", "/segments"), ("GET", "/models"),
              ("GET", "/health"), ("GET", "/ready"), ("GET", "/planner"), ("GET", "/planner/data"),
              ("POST", "/planner/login"), ("POST", "/planner/logout"), ("GET", "/audit"),
              ("DELETE", "/residents/{resident_id}"), ("POST", "/requests"), ("GET", "/metrics")]
#: Operations without parameters or body have no invalid requests to generate.
NO_INPUT = {("GET", "/health"), ("GET", "/ready"), ("GET", "/planner"), ("POST", "/planner/logout"),
            ("GET", "/metrics"),
            ("POST", "/planner/login")}  # the sign-in form is read by hand (HTML form, not a JSON body)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _operation(result: Ok[APIOperation] | Err[InvalidSchema]) -> APIOperation:
    """The operation of one schema entry; a schema error fails the test with its message."""
    if isinstance(result, Err):
        raise result.err()
    return result.ok()


def test_every_operation_but_reload_is_fuzzed(client: TestClient) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    found = {(op.method.upper(), op.path) for op in map(_operation, schema.get_all_operations())}
    assert found - set(OPERATIONS) == {("POST", "/models/reload"), ("GET", "/planner/assets/{name}")}


CASES = [(method, path, mode) for method, path in OPERATIONS for mode in GenerationMode
         if mode is GenerationMode.POSITIVE or (method, path) not in NO_INPUT]


@pytest.mark.parametrize(("method", "path", "mode"), CASES, ids=[f"{m} {p} {g.value}" for m, p, g in CASES])
@pytest.mark.parametrize("role", ["admin", "platform"])
def test_api_conforms_and_never_fails(client: TestClient, method: str, path: str, mode: GenerationMode,
                                      role: str) -> None:
    operation = schemathesis.openapi.from_asgi("/openapi.json", client.app)[path][method]

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=30, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers(role), checks=CHECKS)

    fuzz()
