"""Answering a free-text request: what it is about, which services to offer, and what the store keeps of it.

The text model (:class:`understanding.model.RequestModel`, built from the served bundle's catalogue when a model
version loads) ranks services by text relevance, combined with a known resident's personalised scores (their
precomputed list from the same bundle). Then the recommender's own rules decide what may be offered
(:class:`serving.resident_rules.ResidentRules`: eligibility, community scope, one-off services, accessibility first,
the offline quota); an anonymous request (a community, no known resident) gets the community scope only. A service
the request named that the rules keep from the resident is listed in ``not_offered`` with the reason.

A category is *unmet* when the request is about it (the top understood intent) and no service of it is offered in
the resident's community, or only online ones while the resident prefers offline.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from features.feedback_columns import REQUEST_VARIANT
from serving.context import RequestContext
from serving.feedback_models import ServedItem, ServedList, StoredRequest
from serving.list_store import ListStore
from serving.request_models import (
    IntentPublic,
    NotOfferedPublic,
    RequestAnswerPublic,
    RequestIn,
    RequestServicePublic,
)
from serving.resident_rules import REASONS, ResidentFacts, ResidentRules
from training.bundle import ModelBundle
from understanding.model import RequestModel, ServiceMatch, Understanding
from understanding.redaction import redact

if TYPE_CHECKING:  # the served model holds a RequestServing
    from serving.model_holder import ServedModel

#: Services asked of the text model beyond ``k``, so the rules can drop some and still fill the answer.
WIDEN: Final = 10
_NOTHING_OFFERED: Final = ("您描述的需求暂时没有可以为您提供的服务，请查看 not_offered 的原因或试试以下类别 · "
                           "No service can be offered for this request; see not_offered for why, or try these "
                           "categories")


#: Text models kept for reuse: the version being served and the one a reload is opening beside it.
_KEEP: Final = 2
_built: OrderedDict[str, RequestModel] = OrderedDict()
_built_lock = threading.Lock()


def text_model(catalogue: pd.DataFrame, lexicon_paths: tuple[Path, ...] = ()) -> RequestModel:
    """The text model of ``catalogue`` and the operator's lexicons, built once per distinct content.

    A reload of a version with the same catalogue and unchanged lexicon files reuses the model already built (the
    build, about 30 s on 2 cores, does not depend on residents), so ``/ready`` after a reload waits only for the
    bundle and its stored lists. The key is the SHA-256 of the catalogue's rows and of every lexicon file's bytes:
    an edited lexicon or catalogue builds anew. A lexicon file that cannot be read is left to
    :meth:`RequestModel.build` to report.
    """
    digest = hashlib.sha256(catalogue.to_csv().encode("utf-8"))
    try:
        for path in lexicon_paths:
            digest.update(b"\0" + Path(path).read_bytes())
    except OSError:
        return RequestModel.build(catalogue, lexicon_paths=lexicon_paths)
    key = digest.hexdigest()
    with _built_lock:
        if key in _built:
            _built.move_to_end(key)
            return _built[key]
    model = RequestModel.build(catalogue, lexicon_paths=lexicon_paths)
    with _built_lock:
        _built[key] = model
        while len(_built) > _KEEP:
            _built.popitem(last=False)
    return model


class UnknownResidentNoCommunityError(LookupError):
    """The request names a resident the model does not know and no community to answer for."""


@dataclass(frozen=True)
class RequestServing:
    """What one served model needs to answer requests, built once when the model version loads.

    Attributes
    ----------
    model : RequestModel
        Built from the bundle's catalogue (and any operator lexicons).
    rules : ResidentRules
        The bundle's service rules for single residents.
    """

    model: RequestModel
    rules: ResidentRules

    @classmethod
    def build(cls, bundle: ModelBundle, lexicon_paths: tuple[Path, ...] = (), lists: ListStore | None = None
              ) -> RequestServing:
        """Build the text model from ``bundle``'s services (internal order) and wrap the bundle's rules, their
        inputs read from the version's stored ``lists`` when it has them."""
        return cls(text_model(bundle.catalogue(), lexicon_paths), ResidentRules(bundle, lists))


@dataclass(frozen=True)
class RequestAnswer:
    """The answer, the row to store and the offered services as a served list (with no resident for an anonymous
    request)."""

    public: RequestAnswerPublic
    stored: StoredRequest
    offered: ServedList


def answer_request(served: ServedModel, serving: RequestServing, body: RequestIn) -> RequestAnswer:
    """Understand ``body.text`` and choose the services to offer.

    Raises
    ------
    UnknownResidentNoCommunityError
        If ``body.resident_id`` is unknown to the model and ``body.community_id`` is missing.
    """
    facts = serving.rules.facts(body.resident_id) if body.resident_id else None
    if body.resident_id and facts is None and body.community_id is None:
        raise UnknownResidentNoCommunityError(
            f"resident_id {body.resident_id!r} is unknown to model version {served.version}; send community_id "
            "to be answered for a community")
    community = body.community_id or (facts.community if facts else None)
    catalog = served.catalog
    scope = catalog.allowed(RequestContext(community=community))
    in_scope = np.ones(len(catalog), dtype=bool) if scope is None else scope
    allowed = in_scope & facts.allowed if facts else in_scope
    personal = _personal_scores(served, body.resident_id) if facts else None
    understood = serving.model.understand(body.text, k=body.k + WIDEN, personal_scores=personal)
    index = {sid: i for i, sid in enumerate(catalog.ids)}
    matches = {index[m.service_id]: m for m in understood.services if m.service_id in index}
    scores = np.full(len(catalog), -np.inf)
    for i, match in matches.items():
        scores[i] = match.score if allowed[i] else -np.inf
    if facts is not None:
        chosen = serving.rules.order(facts, scores, body.k)
    else:
        chosen = [i for i in matches if allowed[i]][:body.k]
    services = [RequestServicePublic(rank=rank, service_id=catalog.ids[i], name_zh=catalog.names_zh[i],
                                     name_en=catalog.names_en[i], category=catalog.categories[i],
                                     channel=catalog.channels[i], score=float(matches[i].score),
                                     matched=list(matches[i].matched), department=matches[i].department)
                for rank, i in enumerate(chosen, start=1)]
    not_offered = _not_offered(served, matches, allowed, in_scope, facts, body.k)
    unmet = _unmet(served, understood, in_scope, facts)
    message = None
    if not services:
        message = understood.message or _NOTHING_OFFERED
    request_id = str(uuid.uuid4())
    intents = [IntentPublic(category=i.category, confidence=float(i.confidence)) for i in understood.intents]
    public = RequestAnswerPublic(
        request_id=request_id, resident_id=body.resident_id, community_id=community, model_version=served.version,
        intents=intents, services=services, count=len(services), complaint=understood.complaint is not None,
        complaint_kind=understood.complaint, not_offered=not_offered, unmet=unmet, message=message,
        suggested_categories=list(understood.suggested_categories) if not services else [])
    stored = StoredRequest(
        request_id=request_id, resident_id=body.resident_id, community_id=community, channel=body.channel,
        model_version=served.version, text_redacted=redact(body.text),
        top_category=intents[0].category if intents else None,
        intents=[(i.category, round(i.confidence, 4)) for i in intents], offered=[s.service_id for s in services],
        complaint=understood.complaint, unmet=unmet)
    # Logged for anonymous requests too (no resident): feedback with the request_id then works for every answer.
    offered = ServedList(request_id=request_id, resident_id=body.resident_id, model_version=served.version,
                         variant=REQUEST_VARIANT,
                         items=[ServedItem(service_id=s.service_id, position=s.rank, score=s.score, propensity=1.0)
                                for s in services])
    return RequestAnswer(public, stored, offered)


def _personal_scores(served: ServedModel, resident_id: str | None) -> dict[str, float] | None:
    """The resident's scores from their precomputed list (``None`` when the lists do not cover them)."""
    ranked = served.lists.ranked(resident_id) if resident_id else None
    if ranked is None:
        return None
    ids = served.catalog.ids
    return {ids[int(s)]: float(v) for s, v in zip(*ranked, strict=True)}


def _not_offered(served: ServedModel, matches: dict[int, ServiceMatch], allowed: np.ndarray, in_scope: np.ndarray,
                 facts: ResidentFacts | None, k: int) -> list[NotOfferedPublic]:
    """Services among the text's top ``k`` that the request named in words but the rules keep away."""
    named = [i for i, m in list(matches.items())[:k] if m.matched and not allowed[i]]
    out = []
    for i in named:
        reason: tuple[str, str, str] | None = None
        if not in_scope[i]:
            reason = REASONS["scope_match"]
        elif facts is not None:
            reason = facts.reasons[i]
        if reason is None:
            continue
        code, en, zh = reason
        out.append(NotOfferedPublic(service_id=served.catalog.ids[i], name_zh=served.catalog.names_zh[i],
                                    reason_code=code, reason=en, reason_zh=zh))
    return out


def _unmet(served: ServedModel, understood: Understanding, in_scope: np.ndarray,
           facts: ResidentFacts | None) -> list[str]:
    """The top understood category when nothing of it is offered here (or only online to an offline resident)."""
    if not understood.intents:
        return []
    category = understood.intents[0].category
    catalog = served.catalog
    here = in_scope & (np.asarray(catalog.categories, dtype=object) == category)
    if not here.any():
        return [category]
    if facts is not None and facts.prefers_offline and not (here & (catalog.channel != "online")).any():
        return [category]
    return []


__all__ = ["WIDEN", "RequestAnswer", "RequestServing", "UnknownResidentNoCommunityError", "answer_request",
           "text_model"]
