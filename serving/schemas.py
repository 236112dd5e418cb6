"""Request and response bodies of the API (``XPublic`` for what goes out, lists as ``{data, count}``).

Feedback request bodies live in :mod:`serving.feedback_models` (shared with the store).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.config import JsonDict

from serving.feedback_models import MAX_ID, Identifier, storable_text

Id = Identifier
_DIGITS = re.compile(r"[0-9]{1,9}")


def _whole_number(value: object) -> object:
    """A query value as written (a string): digits only, so ``10.0``, ``1e1``, ``true`` or ``+10`` are refused."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be a whole number written with digits only, e.g. 10")
    return value


#: An integer query parameter, strictly: ``?k=10`` but not ``?k=10.0``.
QueryInt = Annotated[int, BeforeValidator(_whole_number)]
#: A text query or path parameter every backend can store (no NUL, no lone surrogates).
QueryText = Annotated[str, AfterValidator(storable_text)]
#: Most residents one batch request may name.
MAX_BATCH_RESIDENTS = 100
_OUT = ConfigDict(extra="forbid")


def _examples(*examples: JsonDict) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


# ----- recommendations -----------------------------------------------------------------------------------
class RecommendationPublic(BaseModel):
    """One recommended service."""

    model_config = _OUT
    rank: int = Field(ge=1, description="1 = top of the list")
    service_id: str
    category: str
    name_zh: str
    name_en: str | None
    channel: str = Field(description="online, offline or both")
    score: float = Field(description="ranking score after the rules (higher is better; compare within a list)")
    explanation: str
    explanation_zh: str


_LIST_EXAMPLE: JsonDict = {
    "request_id": "0b6f3a52-8d0e-4a57-9c53-4b8f2f6f9a11", "resident_id": "R0000001", "model_version": "3",
    "variant": "champion", "cold_start": False, "count": 1,
    "data": [{"rank": 1, "service_id": "SV024", "category": "childcare", "name_zh": "儿童托管", "name_en": "Child care",
              "channel": "both", "score": 1.21,
              "explanation": "you have used it before (6 events); residents with similar habits use it",
              "explanation_zh": "您曾使用过（6次记录）；习惯相似的居民也在使用"}],
}


class RecommendationListPublic(BaseModel):
    """One resident's served list; send ``request_id`` back with feedback on it."""

    model_config = _examples(_LIST_EXAMPLE)
    request_id: str = Field(description="uuid4 of this list; feedback refers to it")
    resident_id: str
    model_version: str
    variant: str
    cold_start: bool = Field(description="true when ranked from a profile the model had not seen")
    data: list[RecommendationPublic]
    count: int


class RecommendationBatchPublic(BaseModel):
    """Lists of several residents, in the order asked."""

    model_config = _examples({"data": [_LIST_EXAMPLE], "count": 1})
    data: list[RecommendationListPublic]
    count: int


#: The example cold-start profile of the API docs (a resident the model has not seen).
_PROFILE_EXAMPLE: JsonDict = {"resident_id": "NEW-001", "community_id": "C0003", "birth_year": 1952,
                              "household_size": 2, "children_under_18": 0, "employment": "retired",
                              "residency": "registered", "accessibility_needs": "mobility",
                              "preferred_channel": "offline"}


class ResidentProfileIn(BaseModel):
    """A raw residents-table row (the data contract) of a resident the model has not seen yet."""

    model_config = _examples(_PROFILE_EXAMPLE)
    resident_id: Id
    community_id: Id
    birth_year: int | None = Field(None, ge=1900, le=2030)
    household_size: int | None = Field(None, ge=1, le=20)
    children_under_18: int | None = Field(None, ge=0, le=15)
    employment: Literal["employed", "retired", "student", "unemployed", "other"] | None = None
    residency: Literal["registered", "floating"] | None = None
    months_resident: int | None = Field(None, ge=0, le=1500)
    accessibility_needs: Literal["none", "mobility", "visual", "hearing", "cognitive"] | None = None
    preferred_channel: Literal["online", "offline", "both"] | None = None
    work_district: Id | None = None
    usual_departure_hour: int | None = Field(None, ge=0, le=23)


class RecommendationBatchIn(BaseModel):
    """Lists for several residents; unknown residents need a profile (cold start)."""

    model_config = _examples({"residents": ["R0000001", "NEW-001"], "k": 5, "channel": "offline",
                              "profiles": [_PROFILE_EXAMPLE]})
    residents: list[Id] = Field(min_length=1, max_length=MAX_BATCH_RESIDENTS)
    k: int = Field(10, ge=1, le=50, strict=True, description="list length, a JSON integer (not 10.0 or true)")
    channel: Literal["online", "offline"] | None = None
    community: Id | None = None
    time: datetime | None = None
    profiles: list[ResidentProfileIn] = Field(default_factory=list, max_length=MAX_BATCH_RESIDENTS)


# ----- feedback ----------------------------------------------------------------------------------------------
class FeedbackReceiptPublic(BaseModel):
    """Sent only after the events are committed to the feedback store."""

    model_config = _examples({"stored": 2, "duplicates": 0})
    stored: int = Field(description="events durably stored")
    duplicates: int = Field(0, description="events already stored, or repeated in the batch (same request, service, "
                                           "event, timestamp, rating, channel and comment): not stored again")


# ----- residents and segments -----------------------------------------------------------------------------
class PersonaPublic(BaseModel):
    """A persona tag and the rule that gave it."""

    model_config = _OUT
    persona: str
    reason: str


class ResidentPersonaPublic(BaseModel):
    """A resident's persona tags with reasons and learned segment."""

    model_config = _examples({"resident_id": "R0000003", "model_version": "3",
                              "personas": [{"persona": "elderly", "reason": "age 69 ≥ 60"}], "segment": 4,
                              "segment_description": "often uses elderly care services; active in the daytime",
                              "segment_description_zh": "常用养老服务；多在白天活动"})
    resident_id: str
    model_version: str
    personas: list[PersonaPublic]
    segment: int | None
    segment_description: str | None
    segment_description_zh: str | None


Cell = int | float | str | None


class SegmentUnitPublic(BaseModel):
    """One community, street or district; cells below k residents read ``"<k"`` (e.g. ``"<10"``)."""

    model_config = _OUT
    id: str
    name: str | None
    parent_id: str | None
    parent_name: str | None
    residents: int | str
    personas: dict[str, Cell]
    persona_shares: dict[str, Cell]
    segments: dict[str, Cell]
    top_categories: list[str]
    suppressed: list[str]


class SegmentListPublic(BaseModel):
    """Suppressed segment report rows of one level."""

    model_config = _examples({"level": "street", "k": 10, "model_version": "3", "count": 1, "data": [{
        "id": "S01", "name": "和平街道", "parent_id": "D01", "parent_name": "东城区", "residents": 1820,
        "personas": {"elderly": 402, "student": "<10"}, "persona_shares": {"elderly": 0.2209, "student": "<10"},
        "segments": {"0": 310, "1": "<10"}, "top_categories": ["health", "elderly_care"],
        "suppressed": ["persona_student", "share_student", "segment_1"]}]})
    level: Literal["community", "street", "district"]
    k: int = Field(description="suppression threshold")
    model_version: str
    data: list[SegmentUnitPublic]
    count: int
    dp_epsilon: float | None = Field(None, description="differential privacy's ε of the counts; null: exact counts")


# ----- models, health ---------------------------------------------------------------------------------------
class ModelVersionPublic(BaseModel):
    """A registered version, its aliases and what it served."""

    model_config = _OUT
    version: str
    aliases: list[str]
    run_id: str | None
    created_at: datetime | None
    serving: bool
    served_lists: int | None = Field(description="lists served by it (null when the store is unavailable)")
    feedback_events: int | None = Field(description="feedback events on its lists (null when unavailable)")


class ServingPublic(BaseModel):
    """The model serving now."""

    model_config = _OUT
    version: str
    variant: str
    run_id: str
    loaded_at: datetime
    load_seconds: float
    open_seconds: float = Field(description="checking and memory-mapping the version's stored lists")
    rule_inputs_stored: bool = Field(description="the residents' rule inputs came stored with the lists (false: "
                                     "computed at load, for a version trained before they were stored)")
    residents: int = Field(description="known residents, each with a precomputed list")
    list_length: int = Field(description="length of the precomputed lists; longer k is computed on demand")


class VariantMetricsPublic(BaseModel):
    """Online metrics of one model version in one variant over the window (``ctr_low``/``ctr_high``: 95 %
    interval with the resident as the unit)."""

    model_config = _OUT
    version: str
    variant: str
    lists: int
    impressions: int
    residents: int
    ctr: float | None
    ctr_low: float | None
    ctr_high: float | None
    booking_rate: float | None
    use_rate: float | None
    mean_rating: float | None
    coverage: float | None = Field(description="share of the catalogue shown at least once")


class ABPublic(BaseModel):
    """How lists are split and explored."""

    model_config = _OUT
    challenger_share: float = Field(description="share of residents routed to the challenger (0: A/B off)")
    challenger_alias: str
    exploration_rate: float = Field(description="share of lists with one exploratory service (propensity logged)")


class ModelsPublic(BaseModel):
    """Registered versions (newest first), the one serving everyone, and the A/B challenger."""

    model_config = _examples({"model_name": "linli-recommender", "count": 1, "serving": {
        "version": "3", "variant": "champion", "run_id": "a230f3ec", "loaded_at": "2026-11-29T15:00:00",
        "load_seconds": 2.1, "open_seconds": 0.3, "rule_inputs_stored": True, "residents": 20000, "list_length": 50},
        "data": [{"version": "3", "aliases": ["champion"], "run_id": "a230f3ec", "created_at": "2026-11-29T14:00:00",
                  "serving": True, "served_lists": 1204, "feedback_events": 388}]})
    model_name: str
    serving: ServingPublic | None
    challenger: ServingPublic | None = Field(None, description="the A/B challenger, when one serves")
    ab: ABPublic | None = None
    metrics_days: int = Field(30, description="window of `variants`, in days back from now")
    variants: list[VariantMetricsPublic] | None = Field(
        None, description="live online metrics per version and variant (null when the store is unavailable)")
    data: list[ModelVersionPublic]
    count: int


class ReloadIn(BaseModel):
    """Which alias to load (default: the configured one, ``champion``)."""

    model_config = _examples({"alias": "champion"})
    alias: str | None = Field(None, min_length=1, max_length=MAX_ID, pattern=r"^[A-Za-z0-9_\-]+$")


class HealthPublic(BaseModel):
    """The process answers."""

    model_config = _OUT
    status: Literal["ok"] = "ok"


class ReadyPublic(BaseModel):
    """Whether a model serves, and the feedback store's state."""

    model_config = _examples({"status": "ready", "model_version": "3", "store": "ok", "detail": None})
    status: Literal["ready", "not ready"]
    model_version: str | None
    store: Literal["ok", "unavailable"]
    detail: str | None
