"""The ``requests`` table of the feedback store on SQLite and PostgreSQL: round trip, feedback on offered services,
the recommender's metrics left clean, duplicates refused whole, erasure."""

# ruff: noqa: F811

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from features import Columns as C
from features.feedback_columns import REQUEST_VARIANT
from serving.feedback_models import FeedbackEvent, ServedItem, ServedList, StoredRequest
from serving.store import DuplicateRequestError, FeedbackStore

# the two-backend fixtures of the store tests (a test argument named like an imported fixture is not a redefinition)
from tests.serving.test_store import backend, store  # noqa: F401


def _request(request_id: str, resident: str | None = "R1", **fields: object) -> StoredRequest:
    values: dict[str, object] = {
        "request_id": request_id, "resident_id": resident, "community_id": "C0001", "channel": "offline",
        "asked_at": datetime(2026, 11, 2, 9, 30), "model_version": "7",
        "text_redacted": "我电话[手机号]，想给老人订午饭",
        "top_category": "elderly_care", "intents": [("elderly_care", 0.81), ("convenience", 0.1)],
        "offered": ["S1", "S2"], "complaint": None, "unmet": []}
    return StoredRequest(**(values | fields))


def _offered(request_id: str, resident: str = "R1") -> ServedList:
    return ServedList(request_id=request_id, resident_id=resident, model_version="7", variant=REQUEST_VARIANT,
                      served_at=datetime(2026, 11, 2, 9, 30),
                      items=[ServedItem(service_id=s, position=i, score=1.0 / i, propensity=1.0)
                             for i, s in enumerate(["S1", "S2"], start=1)])


def test_requests_round_trip(store: FeedbackStore) -> None:
    store.log_request(_request("q1"), _offered("q1"))
    store.log_request(_request("q2", None, channel=None, top_category=None, intents=[], offered=[],
                               complaint="noise", unmet=["elderly_care"], asked_at=datetime(2026, 12, 1, 8, 0)))
    rows = store.requests()
    assert rows["request_id"].tolist() == ["q1", "q2"]
    first, second = rows.iloc[0], rows.iloc[1]
    assert first["intents"] == [["elderly_care", 0.81], ["convenience", 0.1]] and first["offered"] == ["S1", "S2"]
    assert first["text_redacted"] == "我电话[手机号]，想给老人订午饭" and first["channel"] == "offline"
    assert first[C.COMMUNITY] == "C0001" and first["top_category"] == "elderly_care"
    assert second["complaint"] == "noise" and second["unmet"] == ["elderly_care"] and second["offered"] == []
    assert pd.isna(second[C.RESIDENT])
    assert store.requests(since="2026-11-15")["request_id"].tolist() == ["q2"]


def test_feedback_joins_offered_services_but_not_the_recommender_metrics(store: FeedbackStore) -> None:
    store.log_request(_request("q1"), _offered("q1"))
    stored = store.add_events([FeedbackEvent(request_id="q1", resident_id="R1", service_id="S2", event="book",
                                             timestamp=datetime(2026, 11, 2, 9, 40))])
    assert stored == 1
    assert store.events()["request_id"].tolist() == ["q1"]
    assert store.served().empty
    assert store.counts_per_version() == ({}, {})


def test_a_repeated_request_id_stores_nothing(store: FeedbackStore) -> None:
    store.log_request(_request("q1"), _offered("q1"))
    with pytest.raises(DuplicateRequestError, match="q1"):
        store.log_request(_request("q1", text_redacted="另一条"), _offered("q1"))
    assert store.requests()["text_redacted"].tolist() == ["我电话[手机号]，想给老人订午饭"]


def test_erasing_a_resident_removes_their_requests(store: FeedbackStore) -> None:
    store.log_request(_request("q1"), _offered("q1"))
    store.log_request(_request("q2", "R2"), _offered("q2", "R2"))
    gone = store.erase_resident("R1")
    assert gone["requests"] == 1 and gone["served_lists"] == 1
    assert store.requests()["request_id"].tolist() == ["q2"]
