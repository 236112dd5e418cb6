"""``GET /metrics``: the API's Prometheus metrics, summed over every server process (admin keys only).

A scraper without an admin key can read the same text on the metrics port (``LINLI_METRICS_PORT``, loopback by
default). :mod:`serving.metrics` lists the metrics.
"""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import Response

from serving import metrics
from serving.deps import AdminAccess

router = APIRouter(tags=["operations"], dependencies=[AdminAccess])


@router.get(
    "/metrics",
    summary="Prometheus metrics of every server process",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format"},
        401: {"description": "missing or unknown API key"},
        403: {"description": "admin keys only"},
    },
)
async def get_metrics(request: Request) -> Response:
    """Request counts and latencies per route and status, lists served per version and variant, feedback events
    by outcome, store commit times, and the served versions with their age."""
    metrics.observe_serving(request.app.state.holder)
    text = await to_thread.run_sync(metrics.exposition)
    return Response(text, media_type=metrics.CONTENT_TYPE)
