"""``GET /models`` (registered versions, aliases, the serving ones, live online metrics per version and variant)
and ``POST /models/reload``.

Admin keys only. A reload loads the version holding the alias, validates it and precomputes its lists
before swapping; requests keep being answered by the old model meanwhile. Answers: 200 with the new
serving model; 409 when the new bundle cannot be loaded or validated (the old one keeps serving; the detail
says why) or another reload is running.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Body, HTTPException, Query, Request, status

from features.local_time import TIMEZONE, now_local
from serving.deps import AdminAccess, HolderDep, ready_store
from serving.errors import request_id
from serving.feedback_models import MODEL_VERSION, VARIANT
from serving.model_holder import ModelHolder, ModelLoadError, ReloadInProgressError, ServedModel
from serving.schemas import (
    ABPublic,
    ModelsPublic,
    ModelVersionPublic,
    QueryInt,
    ReloadIn,
    ServingPublic,
    VariantMetricsPublic,
)
from serving.store import StoreUnavailableError
from training.online_metrics import online_metrics

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/models", tags=["models"], dependencies=[AdminAccess])
_AUTH: dict[int | str, dict[str, Any]] = {401: {"description": "missing or unknown API key"},
                                          403: {"description": "admin keys only"}}


@router.get("", response_model=ModelsPublic, summary="Registered versions and the serving one",
            responses={**_AUTH, 503: {"description": "the model registry cannot be read"}})
def list_models(holder: HolderDep, request: Request,
                days: Annotated[QueryInt, Query(ge=1, le=366, description="window of the live metrics, days")] = 30,
                ) -> ModelsPublic:
    """Versions (newest first) with aliases, which serve (champion, A/B challenger), lists served / feedback
    events per version, and each version's live online metrics per variant over the last ``days``."""
    try:
        versions, aliases = holder.registry()
    except Exception as exc:  # the cause names the registry's address: logged, not answered
        logger.warning("request %s: the model registry cannot be read: %s", request_id(request), exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the model registry cannot be read; the server "
                            "log has the details under this request id") from exc
    served_lists, events, variants = _online(request, days)
    serving = holder.current if holder.ready else None
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    data = [ModelVersionPublic(
        version=str(v.version), aliases=sorted(by_version.get(str(v.version), [])), run_id=v.run_id,
        created_at=datetime.fromtimestamp(v.creation_timestamp / 1000, TIMEZONE) if v.creation_timestamp else None,
        serving=serving is not None and serving.version == str(v.version),
        served_lists=None if served_lists is None else served_lists.get(str(v.version), 0),
        feedback_events=None if events is None else events.get(str(v.version), 0)) for v in versions]
    challenger = holder.challenger
    settings = request.app.state.settings
    ab = ABPublic(challenger_share=holder.settings.challenger_share, challenger_alias=holder.settings.challenger_alias,
                  exploration_rate=settings.exploration_rate)
    return ModelsPublic(model_name=holder.settings.model_name, serving=_serving(serving) if serving else None,
                        challenger=_serving(challenger) if challenger else None, ab=ab, metrics_days=days,
                        variants=variants, data=data, count=len(data))


@router.post("/reload", response_model=ServingPublic, summary="Load the version holding an alias and swap it in",
             responses={**_AUTH, 400: {"description": "the body is not UTF-8 JSON"},
                        409: {"description": "the new bundle was rejected (the old one keeps serving), "
                                             "or another reload is running"}})
def reload_model(holder: HolderDep, request: Request,
                 body: Annotated[ReloadIn | None, Body()] = None) -> ServingPublic:
    """Load, validate and precompute the new bundle, then swap it in atomically; in-flight requests finish on the
    old one. Takes as long as the precomputation (seconds per thousand residents) unless the version is cached.
    Without an alias, the champion is reloaded and, when A/B is on, the challenger too."""
    previous = holder.current.version if holder.ready else None
    try:
        served = holder.load(body.alias) if body and body.alias else holder.load_all()
    except ReloadInProgressError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except ModelLoadError as exc:  # the cause names registry paths and temporary folders: logged, not answered
        alias = body.alias if body and body.alias else holder.settings.model_alias
        logger.warning("request %s: reload of alias %r rejected: %s", request_id(request), alias, exc)
        raise HTTPException(status.HTTP_409_CONFLICT, _rejected(holder, alias, previous)) from exc
    _tell_other_processes(request, body.alias if body and body.alias else None)
    return _serving(served)


def _tell_other_processes(request: Request, alias: str | None) -> None:
    """Record the reload in the store, so every other server process reloads too (:mod:`serving.reload_sync`)."""
    watcher = request.app.state.reload_watcher
    if watcher is None:
        return
    try:
        watcher.reloaded_here(alias)
    except StoreUnavailableError as exc:
        logger.warning("request %s: reloaded here, but other server processes were not told (store "
                       "unavailable; reload again): %s", request_id(request), exc)


def _rejected(holder: ModelHolder, alias: str, previous: str | None) -> str:
    """Why a reload was rejected, in words that name no path: which version failed, or that none holds the alias."""
    kept = f"version {previous} keeps serving" if previous else "no model serves"
    try:
        version = holder.registry()[1].get(alias)
    except Exception:  # the registry itself is out of reach; the log says so
        version = None
    what = (f"version {version} (alias {alias!r}) could not be loaded or validated" if version else
            f"no version holds alias {alias!r}")
    return f"reload rejected, {kept}: {what}; the server log has the details under this request id"


def _serving(served: ServedModel) -> ServingPublic:
    return ServingPublic(version=served.version, variant=served.variant, run_id=served.run_id,
                         loaded_at=served.loaded_at, load_seconds=round(served.load_seconds, 3),
                         open_seconds=round(served.open_seconds, 3),
                         rule_inputs_stored=served.rule_inputs_stored,
                         residents=len(served.lists), list_length=served.lists.k)


Online = tuple[dict[str, int] | None, dict[str, int] | None, list[VariantMetricsPublic] | None]


def _online(request: Request, days: int) -> Online:
    """Lists served (with at least one item) and feedback events per model version (all time), and the live
    metrics per version and variant over the last ``days``; ``None`` where the store is unavailable."""
    since = now_local() - timedelta(days=days)
    try:
        store = ready_store(request)
        lists, counts = store.counts_per_version()
        # Only the window is read: a list served in it is answered by events received after it was served.
        served = store.served(since=since)
        events = store.events(since=since)
    except StoreUnavailableError as exc:
        logger.warning("online counts unavailable: %s", exc)
        return None, None, None
    holder = request.app.state.holder
    catalogue = len(holder.current.catalog) if holder.ready else None
    table = online_metrics(served, events, since=since, catalogue_size=catalogue, confidence=0.95)
    variants = [VariantMetricsPublic(version=str(row[MODEL_VERSION]), variant=str(row[VARIANT]),
                                     **{k: _number(row[k]) for k in VariantMetricsPublic.model_fields
                                        if k not in ("version", "variant")})
                for row in table.to_dict("records")]
    return lists, counts, variants


def _number(value: Any) -> Any:
    """A JSON-safe value: NaN (undefined, e.g. no ratings yet) becomes null."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return value
