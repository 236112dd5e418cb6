"""The ``requests`` table of the feedback store on SQLite and PostgreSQL: round trip, feedback on offered services
(anonymous requests' too), the recommender's metrics left clean, duplicates refused whole, erasure, texts
SM4-encrypted at rest and re-encrypted on rotation."""

# ruff: noqa: F811

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from features import Columns as C
from features.feedback_columns import REQUEST_VARIANT
from privacy.encryption import DecryptionError, EncryptionKeyError, Sm4Cipher, parse_key
from serving.feedback_models import FeedbackEvent, ServedItem, ServedList, StoredRequest
from serving.store import DuplicateRequestError, FeedbackStore, UnknownRequestError
from serving.store_privacy import rekey
from tests.privacy.conftest import ENCRYPTION_KEY

# the two-backend fixtures of the store tests (a test argument named like an imported fixture is not a redefinition)
from tests.serving.test_store import backend, store  # noqa: F401
from training.online_metrics import label_impressions


def _request(request_id: str, resident: str | None = "R1", **fields: object) -> StoredRequest:
    values: dict[str, object] = {
        "request_id": request_id, "resident_id": resident, "community_id": "C0001", "channel": "offline",
        "asked_at": datetime(2026, 11, 2, 9, 30), "model_version": "7",
        "text_redacted": "我电话[手机号]，想给老人订午饭",
        "top_category": "elderly_care", "intents": [("elderly_care", 0.81), ("convenience", 0.1)],
        "offered": ["S1", "S2"], "complaint": None, "unmet": []}
    return StoredRequest(**(values | fields))


def _offered(request_id: str, resident: str | None = "R1") -> ServedList:
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


def test_request_texts_are_sm4_ciphertext_at_rest_and_plain_when_read(store: FeedbackStore,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", ENCRYPTION_KEY)
    store.log_request(_request("q1"), _offered("q1"))
    table = store._tables.requests
    with store._db.read("test") as conn:
        plain, sealed = conn.execute(sa.select(table.c.text_redacted, table.c.text_sm4)).one()
    assert plain == "" and sealed.startswith("sm4g:") and "老人" not in sealed
    assert store.requests()["text_redacted"].tolist() == ["我电话[手机号]，想给老人订午饭"]
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", "ab" * 16)
    with pytest.raises(DecryptionError, match="encrypted under key id"):
        store.requests()
    monkeypatch.delenv("LINLI_ENCRYPTION_KEY")
    with pytest.raises(EncryptionKeyError, match="LINLI_ENCRYPTION_KEY is not set"):
        store.requests()


def test_text_stored_before_a_key_was_set_stays_readable(store: FeedbackStore,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINLI_ENCRYPTION_KEY", raising=False)
    store.log_request(_request("q1"), _offered("q1"))
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", ENCRYPTION_KEY)
    store.log_request(_request("q2", text_redacted="第二条"), _offered("q2"))
    assert store.requests()["text_redacted"].tolist() == ["我电话[手机号]，想给老人订午饭", "第二条"]


def test_rekey_re_encrypts_request_texts(store: FeedbackStore, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = Sm4Cipher(parse_key(ENCRYPTION_KEY)), Sm4Cipher(parse_key("ab" * 16))
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", ENCRYPTION_KEY)
    store.log_request(_request("q1"), _offered("q1"))
    store.log_request(_request("q2", None), _offered("q2", None))
    with pytest.raises(EncryptionKeyError, match="request texts: set LINLI_OLD_ENCRYPTION_KEY"):
        rekey(store, {}, None, new)
    assert rekey(store, {}, old, new)["request_texts"] == 2
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", "ab" * 16)
    assert store.requests()["text_redacted"].tolist() == ["我电话[手机号]，想给老人订午饭"] * 2
    assert rekey(store, {}, new, None)["request_texts"] == 2  # back to plain text: no key in force
    monkeypatch.delenv("LINLI_ENCRYPTION_KEY")
    assert store.requests()["text_redacted"].tolist() == ["我电话[手机号]，想给老人订午饭"] * 2


def test_feedback_on_an_anonymous_request_belongs_to_no_resident(store: FeedbackStore) -> None:
    store.log_request(_request("q1", None), _offered("q1", None))
    store.log_request(_request("q2"), _offered("q2"))
    event = {"service_id": "S1", "event": "click", "timestamp": datetime(2026, 11, 2, 9, 40)}
    with pytest.raises(UnknownRequestError, match="anonymous request: send its feedback without resident_id"):
        store.add_events([FeedbackEvent(request_id="q1", resident_id="R1", **event)])
    with pytest.raises(UnknownRequestError, match="was served to a resident: send their resident_id"):
        store.add_events([FeedbackEvent(request_id="q2", **event)])
    assert store.add_events([FeedbackEvent(request_id="q1", **event)]) == 1
    events = store.events()
    assert events["request_id"].tolist() == ["q1"] and events[C.RESIDENT].isna().all()
    offered = store.offered()
    assert offered["request_id"].tolist() == ["q1", "q1", "q2", "q2"]
    assert offered[C.RESIDENT].isna().tolist() == [True, True, False, False]
    labelled = label_impressions(offered, events)  # the request answers' own metrics count it
    assert labelled[labelled["clicked"]][["request_id", C.SERVICE]].values.tolist() == [["q1", "S1"]]
    assert store.served().empty  # never in the recommender's
    assert store.erase_resident("R1")["feedback_events"] == 0  # erasing a resident leaves anonymous rows alone
    assert len(store.events()) == 1
