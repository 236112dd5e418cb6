"""``GET /recommendations/{resident_id}`` and ``POST /recommendations`` (batch, with cold-start profiles).

Known residents are answered from the lists precomputed at load; cold-start residents (with a profile)
and ``k`` beyond the precomputed length are ranked on demand by the bundle. Every list gets a fresh
``request_id`` and is logged to the feedback store before the response leaves; when the store is
unavailable the lists are still served, with the header ``X-Linli-Logged: false``; when it is slow (another
process holds it locked) the answer waits at most ``served_log_wait_ms`` and leaves with ``queued``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from features.errors import LinliDataError
from serving import metrics
from serving.context import RequestContext
from serving.deps import HolderDep, PlatformAccess, ServedModelDep, one_writer, ready_store
from serving.exploration import Exploration
from serving.feedback_models import MAX_ID, ServedItem, ServedList, to_local
from serving.model_holder import ModelHolder, ServedModel, UnknownResidentError
from serving.privacy_edge import stored_id
from serving.ranked import Pick
from serving.schemas import (
    QueryInt,
    QueryText,
    RecommendationBatchIn,
    RecommendationBatchPublic,
    RecommendationListPublic,
    RecommendationPublic,
    ResidentProfileIn,
)
from serving.store import StoreUnavailableError

logger = logging.getLogger(__name__)
LOGGED_HEADER = "X-Linli-Logged"
router = APIRouter(prefix="/recommendations", tags=["recommendations"], dependencies=[PlatformAccess])

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"description": "missing or unknown API key"}, 403: {"description": "the key's role may not recommend"},
    404: {"description": "unknown resident (send a profile with POST /recommendations for cold start), or unknown "
                         "community"},
    422: {"description": "invalid parameter, named in the detail"},
    503: {"description": "no model loaded yet (Retry-After)"},
}
_LOGGED = {LOGGED_HEADER: {"description": "false when the list could not be logged to the feedback store; queued "
                                          "when it is logged as soon as the store allows",
                           "schema": {"type": "string", "enum": ["true", "queued", "false"]}}}


@router.get("/{resident_id}", response_model=RecommendationListPublic, summary="Ranked services for one resident",
            responses={**_ERRORS, 200: {"headers": _LOGGED}})
def recommend_one(
    resident_id: Annotated[QueryText, Path(min_length=1, max_length=MAX_ID, description="pseudonymous resident id")],
    served: ServedModelDep, holder: HolderDep, request: Request, response: Response,
    k: Annotated[QueryInt, Query(ge=1, le=50, description="list length (digits only)")] = 10,
    channel: Annotated[Literal["online", "offline"] | None, Query(description="only services usable so")] = None,
    community: Annotated[QueryText | None, Query(min_length=1, max_length=MAX_ID,
                                                 description="only services offered in this (known) community")] = None,
    time: Annotated[datetime | None, Query(description="only services open then (ISO 8601)")] = None,
) -> RecommendationListPublic:
    """A resident's top-``k`` services with scores and explanations (English and Chinese)."""
    _check_community(served, community)
    context = RequestContext(channel, community, to_local(time) if time else None)
    lists = _lists(holder, served, [stored_id(request, resident_id)], k, context, {}, _exploration(request))
    response.headers[LOGGED_HEADER] = _log(request, lists)
    return lists[0][0].model_copy(update={"resident_id": resident_id})  # the platform's own id


@router.post("", response_model=RecommendationBatchPublic, summary="Ranked services for several residents",
             responses={**_ERRORS, 200: {"headers": _LOGGED}, 400: {"description": "the body is not UTF-8 JSON"}})
def recommend_many(body: RecommendationBatchIn, served: ServedModelDep, holder: HolderDep, request: Request,
                   response: Response) -> RecommendationBatchPublic:
    """Lists for up to 100 residents; residents the model has not seen are ranked from their ``profiles``."""
    _check_unique(body)
    _check_community(served, body.community)
    context = RequestContext(body.channel, body.community, to_local(body.time) if body.time else None)
    stored = [stored_id(request, r) for r in body.residents]
    profiles = {s: p.model_copy(update={"resident_id": s})
                for p in body.profiles for s in [stored_id(request, p.resident_id)]}
    lists = _lists(holder, served, stored, body.k, context, profiles, _exploration(request))
    response.headers[LOGGED_HEADER] = _log(request, lists)
    return RecommendationBatchPublic(data=[public.model_copy(update={"resident_id": raw})  # the platform's ids
                                           for (public, _), raw in zip(lists, body.residents, strict=True)],
                                     count=len(lists))


Answer = tuple[RecommendationListPublic, list[float]]  # a list and each shown service's propensity


def _exploration(request: Request) -> Exploration:
    settings = request.app.state.settings
    return Exploration(settings.exploration_rate, settings.exploration_depth)


def _lists(holder: ModelHolder, champion: ServedModel, resident_ids: list[str], k: int, context: RequestContext,
           profiles: dict[str, ResidentProfileIn], exploration: Exploration) -> list[Answer]:
    """Each resident's list from the model of their A/B arm, explored as the settings say."""
    frame = pd.DataFrame([p.model_dump() for p in profiles.values()]) if profiles else None
    arms: dict[int, tuple[ServedModel, list[str]]] = {}
    for resident in resident_ids:
        model = holder.for_resident(resident, champion)
        arms.setdefault(id(model), (model, []))[1].append(resident)
    answers: dict[str, Answer] = {}
    for model, residents in arms.values():
        try:
            ranked = model.recommend(residents, k, context, frame)
        except UnknownResidentError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
        except LinliDataError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"invalid resident profile: {exc}") from exc
        for resident, (picks, cold) in zip(residents, ranked, strict=True):
            request_id = str(uuid.uuid4())
            if cold:
                shown, propensities = picks, [1.0] * len(picks)
            else:
                shown, propensities = exploration.apply(model, resident, picks, k, context, request_id)
            items = [_item(model, rank, pick) for rank, pick in enumerate(shown, start=1)]
            answers[resident] = (RecommendationListPublic(
                request_id=request_id, resident_id=resident, model_version=model.version, variant=model.variant,
                cold_start=cold, data=items, count=len(items)), propensities)
    return [answers[resident] for resident in resident_ids]


def _item(served: ServedModel, rank: int, pick: Pick) -> RecommendationPublic:
    catalog, s = served.catalog, pick.service
    return RecommendationPublic(rank=rank, service_id=catalog.ids[s], category=catalog.categories[s],
                                name_zh=catalog.names_zh[s], name_en=catalog.names_en[s], channel=catalog.channels[s],
                                score=pick.score, explanation=pick.explanation, explanation_zh=pick.explanation_zh)


def _log(request: Request, lists: list[Answer]) -> str:
    """Log the lists: ``true`` once durable, ``queued`` when the store is slow (written when it allows), ``false``
    (and a warning) when the store cannot take them."""
    served = [ServedList(request_id=x.request_id, resident_id=x.resident_id, model_version=x.model_version,
                         variant=x.variant,
                         items=[ServedItem(service_id=i.service_id, position=i.rank, score=i.score, propensity=p)
                                for i, p in zip(x.data, propensities, strict=True)])
              for x, propensities in lists]
    durable = request.app.state.settings.served_log_durable
    metrics.count_lists((x.model_version, x.variant) for x in served)

    def write(lists: list[ServedList]) -> None:  # on the log's writer thread
        store = ready_store(request)
        with one_writer(request), metrics.commit_timer("served_lists"):
            store.log_served_many(lists, durable=durable)

    try:
        outcome = request.app.state.served_log.submit(served, write)
    except StoreUnavailableError as exc:
        logger.warning("served %d list(s) without logging them: %s", len(served), exc)
        return "false"
    except Exception:  # a list is served even when logging breaks; the error is logged in full
        logger.exception("served %d list(s) without logging them", len(served))
        return "false"
    if outcome == "refused":
        logger.warning("served %d list(s) without logging them: the served-list log's backlog is full", len(served))
        return "false"
    return "true" if outcome == "written" else "queued"


def _check_community(served: ServedModel, community: str | None) -> None:
    """404 for a community the serving model knows neither from its residents nor from its services' scopes."""
    if community is None:
        return
    if community in set(served.bundle.profile.reports.level("community").index.astype(str)):
        return
    if any(scope is not None and community in scope for scope in served.catalog.scope):
        return
    raise HTTPException(status.HTTP_404_NOT_FOUND,
                        f"unknown community {community!r} for model version {served.version}; leave `community` out "
                        "to recommend without it")


def _check_unique(body: RecommendationBatchIn) -> None:
    for name, ids in (("residents", body.residents), ("profiles", [p.resident_id for p in body.profiles])):
        repeated = sorted({r for r in ids if ids.count(r) > 1})
        if repeated:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"{name} names resident {', '.join(map(repr, repeated[:5]))} more than once")
    strangers = [p.resident_id for p in body.profiles if p.resident_id not in set(body.residents)]
    if strangers:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"profiles name resident {', '.join(map(repr, strangers[:5]))} not in residents")
