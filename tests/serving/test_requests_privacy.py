"""Personal data that residents type into a request never reaches the server log, the store, the planner page or
MLflow: a real uvicorn server takes requests full of phone, ID-card, bank-card and plate numbers, and a retrain
reads its store."""

from __future__ import annotations

from pathlib import Path

import httpx

from features import Dataset
from recommenders.hybrid import HybridConfig
from recommenders.ranker import RankerConfig
from serving.store import FeedbackStore
from tests.serving.conftest import MODEL, Registry, headers, make_settings, run_server
from training.config import TrainConfig
from training.feedback_data import FeedbackLog
from training.retrain import train

SECRETS = ("13812345678", "110101195403072316", "6222021234567890123", "沪A12345", "0571-87654321")
TEXTS = (f"我是独居老人，电话{SECRETS[0]}，身份证{SECRETS[1]}，想申请老年助餐",
         f"孩子放学没人接，银行卡{SECRETS[2]}能交托管费吗",
         f"楼下车位被{SECRETS[3]}占了好几天，打{SECRETS[4]}也没人管")


def _has_secret(blob: bytes) -> list[str]:
    found = []
    for secret in SECRETS:
        for form in (secret, secret.replace("-", "")):
            if form.encode() in blob or form.encode("unicode_escape") in blob:
                found.append(secret)
    return found


def test_personal_data_stays_out_of_logs_store_planner_and_mlflow(registry: Registry, dataset: Dataset,
                                                                   tmp_path: Path) -> None:
    settings = make_settings(registry, tmp_path)
    with run_server(settings) as server:
        answered = []
        for resident in ("R0000001", "R0000002", None):
            for text in TEXTS:
                body = {"text": text, "community_id": "C0001"} | ({"resident_id": resident} if resident else {})
                response = httpx.post(server.url + "/requests", json=body, headers=headers("platform"), timeout=30)
                assert response.status_code == 200, response.text
                answered.append(response.json())
        too_long = httpx.post(server.url + "/requests", json={"text": TEXTS[0] * 20, "community_id": "C0001"},
                              headers=headers("platform"), timeout=30)
        assert too_long.status_code == 422
        planner = httpx.get(server.url + "/planner/data", params={"level": "community", "id": "C0001"},
                            headers=headers("planner"), timeout=30)
        assert planner.status_code == 200 and "requests" in planner.json()
        assert _has_secret(planner.content) == []
        log = server.log.read_bytes()
    assert answered[0]["services"], answered[0]
    assert _has_secret(log) == [], "personal data in the server log"

    store = FeedbackStore(settings.store_url())
    requests = store.requests()
    assert len(requests) == 3 * len(TEXTS)
    assert _has_secret("\n".join(requests["text_redacted"]).encode()) == []
    assert "[手机号]" in requests["text_redacted"].iloc[0]

    folder = tmp_path / "mlflow"
    config = TrainConfig(seed=3, single_models=("popular",),
                         hybrid=HybridConfig(seed=3, ranker=RankerConfig(n_estimators=30)))
    result = train(dataset, tracking_uri=f"sqlite:///{folder / 'mlflow.db'}", model_name=f"{MODEL}-privacy",
                   config=config, artifact_location=(folder / "art").as_uri(),
                   feedback=FeedbackLog(store.served(), store.events(), store.requests()),
                   now=dataset.history_end())  # today's requests are read and counted, the windows stay put
    assert result is not None
    leaked = {str(path): _has_secret(path.read_bytes()) for path in folder.rglob("*") if path.is_file()}
    assert {path: found for path, found in leaked.items() if found} == {}, "personal data in MLflow"
