"""Prometheus metrics of the API (``prometheus-client``), counted in every server process and read together.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``linli serve --workers N`` sets it to a fresh folder before any worker
starts), each process writes its counters to memory-mapped files there and a scrape sums them over the processes
(:class:`prometheus_client.multiprocess.MultiProcessCollector`); without it, they live in this process.

Metrics (``docs/operations.md`` lists them with their labels):

* ``linli_http_requests_total`` and ``linli_http_request_duration_seconds``, by method, route *template*
  (``/recommendations/{resident_id}``, never a resident id) and status;
* ``linli_lists_served_total`` by model version and variant;
* ``linli_feedback_events_total`` by outcome (``accepted``, ``duplicate``, ``refused``);
* ``linli_store_commit_seconds`` by table (``served_lists``, ``feedback_events``);
* ``linli_served_model_version`` per process and variant, and ``linli_served_version_age_seconds`` (since the
  version was registered) per variant.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from serving.errors import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from serving.model_holder import ModelHolder

#: The ``Content-Type`` of the text exposition format.
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_CREATED: Final = "linli_served_version_created_timestamp_seconds"

REQUESTS = Counter(
    "linli_http_requests", "HTTP requests answered, by route template and status.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "linli_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
LISTS = Counter(
    "linli_lists_served", "Recommendation lists served, by model version and variant.", ["model_version", "variant"]
)
FEEDBACK = Counter(
    "linli_feedback_events",
    "Feedback events received: accepted (stored), duplicate (already "
    "stored) or refused (the batch was rejected: unknown request, invalid, store unavailable).",
    ["outcome"],
)
COMMIT = Histogram(
    "linli_store_commit_seconds",
    "Time of one write transaction of the feedback store.",
    ["table"],
    buckets=_LATENCY_BUCKETS,
)
VERSION = Gauge(
    "linli_served_model_version",
    "The registry version each server process serves, by variant.",
    ["variant"],
    multiprocess_mode="liveall",
)
CREATED = Gauge(
    _CREATED, "When the served version was registered (Unix seconds).", ["variant"], multiprocess_mode="mostrecent"
)
LOADED = Gauge(
    "linli_served_version_loaded_timestamp_seconds",
    "When the served version was loaded (Unix seconds; the latest load in any process).",
    ["variant"],
    multiprocess_mode="mostrecent",
)

_created_cache: dict[tuple[str, str], float] = {}


def observe_serving(holder: ModelHolder) -> None:
    """Set the served-version gauges from what ``holder`` serves now (cheap; the registration time of a version
    is read from the registry once)."""
    if not holder.ready:
        return
    for served in (holder.current, holder.challenger):
        if served is None:
            continue
        try:
            number = float(served.version)
        except ValueError:
            continue
        VERSION.labels(served.variant).set(number)
        LOADED.labels(served.variant).set(served.loaded_at.timestamp())
        key = (holder.settings.model_name, served.version)
        if key not in _created_cache:
            try:
                meta = holder.client.get_model_version(*key)
                _created_cache[key] = (meta.creation_timestamp or 0) / 1000
            except Exception:  # the registry is out of reach: the age is left out until it answers
                continue
        CREATED.labels(served.variant).set(_created_cache[key])


@contextmanager
def commit_timer(table: str) -> Iterator[None]:
    """Time the write transaction in the block as a commit of ``table``; a transaction that fails is not counted."""
    started = time.perf_counter()
    yield
    COMMIT.labels(table).observe(time.perf_counter() - started)


def count_lists(versions: Iterable[tuple[str, str]]) -> None:
    """Count served lists, given as (model version, variant) pairs."""
    for version, variant in versions:
        LISTS.labels(version, variant).inc()


class _Families:
    """A collector over a fixed list of metric families (what ``generate_latest`` reads)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


def families() -> list[Metric]:
    """Every metric of every server process now, with the served versions' ages computed at this moment."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        found = list(registry.collect())
    else:
        found = list(REGISTRY.collect())
    age = GaugeMetricFamily(
        "linli_served_version_age_seconds", "Seconds since the served version was registered.", labels=["variant"]
    )
    now = time.time()
    for family in found:
        if family.name == _CREATED:
            for sample in family.samples:
                if sample.value > 0:
                    age.add_metric([sample.labels.get("variant", "")], now - sample.value)
    return [*found, age]


def exposition() -> bytes:
    """The Prometheus text exposition of :func:`families`."""
    return generate_latest(_Families(families()))


class _Exposed:
    def collect(self) -> list[Metric]:
        return families()


def serve_metrics_port(port: int, host: str = "127.0.0.1") -> Any:
    """Serve the metrics without a key on ``host:port`` from a thread of this process (the supervisor of
    ``linli serve --workers N``, or the one server process); returns the HTTP server."""
    from prometheus_client import start_http_server

    server, _ = start_http_server(port, host, registry=_Exposed())  # type: ignore[arg-type]
    return server


class MetricsMiddleware:
    """A plain ASGI middleware timing and counting every HTTP request by its route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            route = getattr(scope.get("route"), "path", None) or "(unmatched)"
            method = str(scope.get("method", ""))
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - started)


__all__ = [
    "COMMIT",
    "CONTENT_TYPE",
    "FEEDBACK",
    "LATENCY",
    "LISTS",
    "MULTIPROC_ENV",
    "REQUESTS",
    "VERSION",
    "MetricsMiddleware",
    "commit_timer",
    "count_lists",
    "exposition",
    "families",
    "observe_serving",
    "serve_metrics_port",
]
