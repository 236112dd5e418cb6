"""Residents' free-text requests from a real SQLite feedback store become intent events of the next retrain."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from features.columns import Columns as C
from features.dataset import Dataset
from features.event_weights import REQUEST_EVENT, policy_weights
from features.feedback_columns import REQUEST_VARIANT
from serving.feedback_models import FeedbackEvent, ServedItem, ServedList, StoredRequest
from serving.store import FeedbackStore
from training.feedback_data import FeedbackLog, merge_feedback
from training.online_metrics import OnlineMetricsError
from training.request_data import request_interactions

ASKED_AT = datetime(2026, 11, 1, 10, 0)


def _request(request_id: str, resident: str | None, offered: list[str], channel: str | None = "offline"
             ) -> StoredRequest:
    return StoredRequest(request_id=request_id, resident_id=resident, community_id="C0001", channel=channel,
                         asked_at=ASKED_AT, model_version="1", text_redacted="想给老人订午饭",
                         top_category="elderly_care", intents=[("elderly_care", 0.9)], offered=offered,
                         complaint=None, unmet=[])


@pytest.fixture
def log(dataset: Dataset, tmp_path: Path) -> FeedbackLog:
    """A named resident's request offering two services (then booked the second), an anonymous one, and a named
    resident's request that offered nothing."""
    resident = str(dataset.resident_ids.external[0])
    services = [str(s) for s in dataset.service_ids.external[:2]]
    with FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}") as store:
        store.create_schema()
        store.log_request(_request("q1", resident, services),
                          ServedList(request_id="q1", resident_id=resident, model_version="1",
                                     variant=REQUEST_VARIANT, served_at=ASKED_AT,
                                     items=[ServedItem(service_id=s, position=i, score=1.0)
                                            for i, s in enumerate(services, start=1)]))
        store.log_request(_request("q2", None, services))
        store.log_request(_request("q3", resident, [], channel=None))
        store.add_events([FeedbackEvent(request_id="q1", resident_id=resident, service_id=services[1], event="book",
                                        timestamp=datetime(2026, 11, 1, 10, 5))])
        return FeedbackLog(store.served(), store.events(), store.requests())


def test_a_named_residents_request_is_an_intent_event_on_the_first_offer(dataset: Dataset, log: FeedbackLog
                                                                         ) -> None:
    assert log.requests is not None
    rows = request_interactions(log.requests)
    resident, first = str(dataset.resident_ids.external[0]), str(dataset.service_ids.external[0])
    assert rows[[C.RESIDENT, C.SERVICE, C.EVENT, C.CHANNEL]].values.tolist() == [[resident, first, "click",
                                                                                   "offline"]]
    assert rows[C.TIMESTAMP].tolist() == [pd.Timestamp(ASKED_AT)]
    assert policy_weights("interactions")[REQUEST_EVENT] >= policy_weights("interactions")["click"]


def test_merge_adds_requests_and_the_feedback_on_their_offers(dataset: Dataset, log: FeedbackLog) -> None:
    merged, counts = merge_feedback(dataset, log)
    assert counts.request_events == 1 and counts.events == 1
    assert counts.impressions_added == 0  # offers to requests are not the recommender's impressions
    resident = str(dataset.resident_ids.external[0])
    new = merged.interactions[(merged.interactions[C.RESIDENT] == resident)
                              & (merged.interactions[C.TIMESTAMP] >= pd.Timestamp(ASKED_AT))]
    assert sorted(new[C.EVENT].astype(str)) == ["book", "click"]
    assert counts.added == 2


def test_requests_without_the_columns_are_refused_by_name() -> None:
    with pytest.raises(OnlineMetricsError, match="offered"):
        request_interactions(pd.DataFrame({"request_id": ["q"], C.RESIDENT: ["R1"], "asked_at": [ASKED_AT]}))
