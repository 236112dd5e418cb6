from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from understanding.model import RequestModel


def _names(model: RequestModel, text: str, **kwargs: object) -> list[str]:
    return [m.name_zh for m in model.understand(text, **kwargs).services]  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "category", "service"), [
    ("我妈八十多了腿脚不利索，中午没人给她做饭", "elderly_care", "老年助餐"),
    ("我要办暂住证", "administration", "居住证办理"),
    ("居住証怎麼辦理", "administration", "居住证办理"),
    ("juzhuzheng zenme ban", "administration", "居住证办理"),
    ("每天下午没人接孩子放学", "childcare", "课后托管"),
    ("I need a family doctor 家庭医生怎么签约", "health", "家庭医生签约"),
    ("电瓶车在哪充电🔋🔋", "convenience", "电动车充电"),
])
def test_residents_words_find_the_service(model: RequestModel, text: str, category: str, service: str) -> None:
    u = model.understand(text)
    assert u.category == category
    assert service in [m.name_zh for m in u.services[:3]]
    assert u.message is None
    assert all(0 <= i.confidence <= 1 for i in u.intents)
    assert [m.score for m in u.services] == sorted((m.score for m in u.services), reverse=True)


def test_a_match_says_which_words_matched_and_where_to_route_it(model: RequestModel) -> None:
    top = model.understand("我要办暂住证").services[0]
    assert top.name_zh == "居住证办理"
    assert "暂住证" in top.matched
    assert top.department == "派出所"


def test_at_most_k_services_and_k_must_be_positive(model: RequestModel) -> None:
    assert len(model.understand("老人吃饭洗澡看病都需要人帮忙", k=2).services) <= 2
    with pytest.raises(ValueError, match="k must be at least 1"):
        model.understand("老人吃饭", k=0)


def test_text_that_matches_nothing_gets_a_message_and_categories(model: RequestModel) -> None:
    u = model.understand("qwzx vbnm plkj")
    assert u.services == []
    assert u.intents == []
    assert u.message is not None and "没有找到匹配的服务" in u.message and "No service matched" in u.message
    assert len(u.suggested_categories) == 3
    assert set(u.suggested_categories) <= set(model.categories)


def test_allowed_removes_ineligible_services(model: RequestModel, service_id: Callable[[str], str]) -> None:
    text = "我要办暂住证"
    assert "居住证办理" in _names(model, text)
    permit = service_id("居住证办理")
    others = set(model.services["service_id"]) - {permit}
    assert "居住证办理" not in _names(model, text, allowed=others)
    assert _names(model, text, allowed=set()) == []


def test_personal_scores_reorder_but_never_add_services(model: RequestModel,
                                                        service_id: Callable[[str], str]) -> None:
    text = "孩子放学没人管，暑假也没人管"
    plain = model.understand(text, k=10).services
    assert len(plain) >= 2
    last = plain[-1].service_id
    boosted = model.understand(text, k=10, personal_scores={last: 100.0, service_id("广场舞队"): 1000.0})
    ids = [m.service_id for m in boosted.services]
    assert set(ids) == {m.service_id for m in plain}
    assert ids.index(last) < len(plain) - 1


def test_complaints_are_flagged_with_their_kind(model: RequestModel) -> None:
    assert model.understand("楼上每天半夜装修，电钻声吵得根本睡不着").complaint == "noise"
    assert model.understand("有人冒充社区的人上门收钱，我被骗了五百").complaint == "fraud"
    assert model.understand("我想给老人订午饭").complaint is None


def test_a_complaint_is_understood_as_the_category_that_handles_it(model: RequestModel) -> None:
    """Noise and neighbour disputes are legal_social (mediation) in the corpus, repairs convenience: the category
    agrees with the complaint flag instead of following a stray word (唱卡拉OK is not a culture request)."""
    noise = model.understand("隔壁天天半夜唱卡拉OK，吵得睡不着")
    assert noise.complaint == "noise" and noise.category == "legal_social"
    assert model.understand("楼道里的灯坏了好几天没人修").category == "convenience"


def test_a_new_service_is_found_by_its_name_and_description_alone(services: pd.DataFrame) -> None:
    new = {"service_id": "SV999", "category": "convenience", "name_zh": "旧衣回收", "name_en": "Used clothes recycling",
           "provider": "环卫所", "channel": "offline",
           "description": "把不穿的旧衣服、旧鞋子投进回收箱，环保再利用。"}
    catalogue = pd.concat([services, pd.DataFrame([new])], ignore_index=True)
    model = RequestModel.build(catalogue, corpus=pd.DataFrame(columns=["text", "category"]))
    for text in ("家里一堆旧衣服不穿了，放哪回收", "旧衣回收箱在哪"):
        top = model.understand(text).services[0]
        assert (top.service_id, top.department) == ("SV999", "环卫所"), text


def test_build_refuses_a_services_table_without_its_keys(services: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="name_zh"):
        RequestModel.build(services.drop(columns=["name_zh"]))
