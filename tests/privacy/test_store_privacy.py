"""The store's privacy operations on both backends: erasure with its ledger, retention, re-keying."""

from __future__ import annotations

from datetime import datetime

import pytest

from features.columns import Columns as C
from privacy.encryption import Sm4Cipher, parse_key
from privacy.pseudonym import Pseudonymiser
from serving.feedback_models import FeedbackEvent, ServedItem, ServedList
from serving.store import FeedbackStore, UnknownRequestError
from serving.store_privacy import erased, purge, rekey
from tests.privacy.conftest import ENCRYPTION_KEY


def _served(request_id: str, resident: str, day: int) -> ServedList:
    return ServedList(request_id=request_id, resident_id=resident, model_version="1", served_at=datetime(2026, 11, day),
                      items=[ServedItem(service_id="S1", position=1, score=1.0)])


def _event(request_id: str, resident: str, day: int, comment: str | None = None) -> FeedbackEvent:
    return FeedbackEvent(request_id=request_id, resident_id=resident, service_id="S1", event="click",
                         timestamp=datetime(2026, 11, day, 12), comment=comment)


def test_erasure_deletes_their_rows_and_keeps_them_in_the_ledger(store: FeedbackStore) -> None:
    store.log_served_many([_served("a", "R1", 1), _served("b", "R2", 1)])
    store.add_events([_event("a", "R1", 1), _event("b", "R2", 1)])
    assert erased(store) == set()
    assert store.erase_resident("R1") == {"feedback_events": 1, "served_items": 1, "served_lists": 1, "requests": 0}
    assert store.erase_resident("R1") == {"feedback_events": 0, "served_items": 0, "served_lists": 0, "requests": 0}
    assert erased(store) == {"R1"}
    assert set(store.served()[C.RESIDENT]) == set(store.events()[C.RESIDENT]) == {"R2"}
    with pytest.raises(UnknownRequestError, match="never served"):
        store.add_events([_event("a", "R1", 2)])


def test_purge_deletes_what_is_older_than_the_cutoff_once(store: FeedbackStore) -> None:
    store.log_served_many([_served("old", "R1", 1), _served("new", "R1", 20)])
    store.add_events([_event("old", "R1", 1), _event("new", "R1", 20)])
    store.erase_resident("R9")
    cutoff = datetime(2026, 11, 10)
    first = purge(store, cutoff)
    assert first["served_lists"] == 1 and first["served_items"] == 1
    assert set(store.served()["request_id"]) == set(store.events()["request_id"]) == {"new"}
    assert set(purge(store, cutoff).values()) == {0}  # idempotent
    assert erased(store) == {"R9"}  # the ledger is never purged


def test_rekey_moves_every_pseudonym_and_comment_to_the_new_keys(store: FeedbackStore,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    old_p, new_p = Pseudonymiser(b"old key"), Pseudonymiser(b"new key")
    old_c, new_c = Sm4Cipher(parse_key(ENCRYPTION_KEY)), Sm4Cipher(parse_key("ab" * 16))
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", ENCRYPTION_KEY)
    r1, r2 = old_p.one("R1"), old_p.one("R2")
    store.log_served_many([_served("a", r1, 1), _served("b", r2, 1)])
    store.add_events([_event("a", r1, 1, "很好")])
    store.erase_resident(r2)
    done = rekey(store, {r1: new_p.one("R1"), r2: new_p.one("R2")}, old_c, new_c)
    assert done["served_lists"] == done["feedback_events"] == done["erased_residents"] == done["comments"] == 1
    assert erased(store) == {new_p.one("R2")}
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", "ab" * 16)
    events = store.events()
    assert events[C.RESIDENT].tolist() == [new_p.one("R1")] and events[C.COMMENT].tolist() == ["很好"]
