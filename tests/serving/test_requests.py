"""``POST /requests`` through the API on the shared test model, with a real SQLite feedback store per test."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from serving.store import FeedbackStore
from tests.serving.conftest import headers

PLATFORM = headers("platform")
PHONE, ID_CARD, PLATE = "13812345678", "110101195403072316", "沪A12345"


def _ask(client: TestClient, **body: Any) -> Any:
    return client.post("/requests", json=body, headers=PLATFORM)


def test_anonymous_request_offers_ranked_services_and_is_stored(client: TestClient, store: FeedbackStore) -> None:
    response = _ask(client, text="孩子放学没人接怎么办", community_id="C0001")
    assert response.status_code == 200
    answer = response.json()
    assert answer["intents"][0]["category"] == "childcare"
    assert answer["services"], answer
    first = answer["services"][0]
    assert first["service_id"] == "SV018" and first["name_zh"] == "课后托管" and first["matched"]
    assert first["department"]
    assert [s["rank"] for s in answer["services"]] == list(range(1, answer["count"] + 1))
    scores = [s["score"] for s in answer["services"]]
    assert scores == sorted(scores, reverse=True)
    assert answer["complaint"] is False and answer["message"] is None
    stored = store.requests()
    assert list(stored["request_id"]) == [answer["request_id"]]
    row = stored.iloc[0]
    assert row["community_id"] == "C0001" and row["top_category"] == "childcare"
    assert row["offered"] == [s["service_id"] for s in answer["services"]]


def test_services_outside_the_community_are_not_offered(client: TestClient) -> None:
    """课后托管 is not offered in C0005: another childcare service, or a reason, but never SV018."""
    answer = _ask(client, text="孩子放学没人接怎么办", community_id="C0005").json()
    assert "SV018" not in [s["service_id"] for s in answer["services"]]
    named = {n["service_id"]: n for n in answer["not_offered"]}
    assert named["SV018"]["reason_code"] == "community"
    assert "社区" in named["SV018"]["reason_zh"]


def test_known_resident_gets_the_recommendation_rules(client: TestClient) -> None:
    """R0000002 has no children: after-school care is not offered, and the answer says why."""
    answer = _ask(client, resident_id="R0000002", text="孩子放学没人接怎么办").json()
    assert answer["community_id"] == "C0001"  # the resident's home community
    assert "SV018" not in [s["service_id"] for s in answer["services"]]
    named = {n["service_id"]: n for n in answer["not_offered"]}
    assert named["SV018"]["reason_code"] == "children"


def test_residence_permit_is_not_offered_to_a_registered_resident(client: TestClient) -> None:
    eligible = _ask(client, resident_id="R0000002", text="办暂住证要什么材料").json()  # floating
    assert eligible["services"][0]["service_id"] == "SV031"
    refused = _ask(client, resident_id="R0000003", text="办暂住证要什么材料").json()  # registered
    assert "SV031" not in [s["service_id"] for s in refused["services"]]
    assert {n["service_id"]: n["reason_code"] for n in refused["not_offered"]}["SV031"] == "residency"


def test_feedback_on_an_offered_service_uses_the_request_id(client: TestClient, store: FeedbackStore) -> None:
    answer = _ask(client, resident_id="R0000002", text="想找家政阿姨打扫卫生", channel="online").json()
    service = answer["services"][0]["service_id"]
    event = {"request_id": answer["request_id"], "resident_id": "R0000002", "service_id": service, "event": "book"}
    response = client.post("/feedback", json=event, headers=PLATFORM)
    assert response.status_code == 201, response.text
    events = store.events()
    assert list(events["request_id"]) == [answer["request_id"]] and list(events["event"]) == ["book"]
    assert store.served().empty  # lists offered to requests stay out of the recommender's online metrics
    assert store.requests().iloc[0]["channel"] == "online"


def test_feedback_on_an_anonymous_request_is_stored_for_no_resident(client: TestClient,
                                                                     store: FeedbackStore) -> None:
    answer = _ask(client, text="孩子放学没人接怎么办", community_id="C0001").json()
    service = answer["services"][0]["service_id"]
    event = {"request_id": answer["request_id"], "service_id": service, "event": "click"}
    as_someone = client.post("/feedback", json={**event, "resident_id": "R0000002"}, headers=PLATFORM)
    assert as_someone.status_code == 404 and "without resident_id" in as_someone.text
    response = client.post("/feedback", json=event, headers=PLATFORM)
    assert response.status_code == 201, response.text
    events = store.events()
    assert list(events["request_id"]) == [answer["request_id"]] and events["resident_id"].isna().all()
    offered = store.offered()
    assert list(offered["service_id"]) == [s["service_id"] for s in answer["services"]]
    assert store.served().empty


def test_text_matching_nothing_is_answered_and_stored(client: TestClient, store: FeedbackStore) -> None:
    response = _ask(client, text="asdfgh qwerty zxcv", community_id="C0002")
    assert response.status_code == 200
    answer = response.json()
    assert answer["services"] == [] and answer["count"] == 0
    assert answer["message"] and answer["suggested_categories"]
    assert list(store.requests()["request_id"]) == [answer["request_id"]]


def test_personal_data_is_redacted_before_it_is_stored(client: TestClient, store: FeedbackStore) -> None:
    text = f"我电话{PHONE}，身份证{ID_CARD}，车牌{PLATE}，想办居住证"
    answer = _ask(client, text=text, community_id="C0001").json()
    stored = store.requests().iloc[0]["text_redacted"]
    for secret in (PHONE, ID_CARD, PLATE):
        assert secret not in stored
    assert "居住证" in stored and answer["services"]


@pytest.mark.parametrize(("body", "field"), [
    ({"text": ""}, "text"),
    ({"text": "   \n\t "}, "text"),
    ({"text": "帮" * 501}, "text"),
    ({"text": 12345}, "text"),
    ({"text": ["老人", "吃饭"]}, "text"),
    ({"text": "😀😀🙏"}, "text"),
    ({"text": "老人\x00吃饭"}, "text"),
    ({"resident_id": "R9999999", "text": "老人吃饭难"}, "resident_id"),
    ({"community_id": "C0001"}, "text"),
    ({"text": "老人吃饭难", "k": 0}, "k"),
])
def test_bad_input_is_a_422_naming_the_field(client: TestClient, store: FeedbackStore, body: dict[str, Any],
                                             field: str) -> None:
    """Every case but the unknown resident carries a community, so only the named field is at fault."""
    sent = body if field == "resident_id" else {"community_id": "C0001", **body}
    response = _ask(client, **sent)
    assert response.status_code == 422, response.text
    assert field in [str(part) for error in response.json()["detail"] for part in error["loc"]]
    store.create_schema()
    assert store.requests().empty


def test_unknown_resident_with_a_community_is_answered_for_the_community(client: TestClient) -> None:
    answer = _ask(client, resident_id="R9999999", community_id="C0001", text="孩子放学没人接怎么办").json()
    assert answer["services"][0]["service_id"] == "SV018" and answer["resident_id"] == "R9999999"


def test_unknown_community_is_a_404(client: TestClient) -> None:
    response = _ask(client, community_id="C9999", text="老人吃饭难")
    assert response.status_code == 404 and "C9999" in response.json()["detail"]


def test_planner_key_may_not_send_requests(client: TestClient) -> None:
    response = client.post("/requests", json={"text": "老人吃饭难", "community_id": "C0001"},
                           headers=headers("planner"))
    assert response.status_code == 403
