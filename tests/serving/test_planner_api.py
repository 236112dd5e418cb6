"""The planner page's HTTP side: who sees it, the session cookie, its assets and ``GET /planner/data``."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from features import Dataset
from serving.model_holder import ModelHolder
from serving.planner import COOKIE
from tests.serving.conftest import KEYS, TestClient, headers

PLANNER, PLATFORM = headers("planner"), headers("platform")


def test_planner_and_admin_keys_see_the_page(client: TestClient) -> None:
    for role in ("planner", "admin"):
        response = client.get("/planner", headers=headers(role))
        assert response.status_code == 200 and "/planner/assets/planner.js" in response.text
        assert "default-src 'self'" in response.headers["content-security-policy"]


def test_a_platform_key_gets_403_and_no_key_401_with_the_sign_in_form(client: TestClient) -> None:
    forbidden = client.get("/planner", headers=PLATFORM)
    assert forbidden.status_code == 403 and "无权" in forbidden.text
    missing = client.get("/planner")
    assert missing.status_code == 401 and 'action="/planner/login"' in missing.text
    assert client.get("/planner", headers={"X-API-Key": "wrong-key"}).status_code == 401


def test_sign_in_sets_a_strict_http_only_cookie_that_reads_but_never_writes(client: TestClient) -> None:
    response = client.post("/planner/login", data={"key": KEYS["admin"]}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/planner"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert KEYS["admin"] not in cookie
    assert client.get("/planner").status_code == 200  # the client keeps the cookie
    assert client.get("/segments", params={"level": "district"}).status_code == 200
    assert client.post("/models/reload").status_code == 401  # even an admin session: reads only
    client.post("/planner/logout")
    assert client.get("/planner").status_code == 401


def test_sign_in_refuses_unknown_and_platform_keys(client: TestClient) -> None:
    assert client.post("/planner/login", data={"key": "nope"}).status_code == 401
    assert client.post("/planner/login", data={"key": KEYS["platform"]}).status_code == 403
    assert client.post("/planner/login", data={}).status_code == 401
    assert COOKIE not in client.cookies


def test_a_forged_or_tampered_cookie_is_refused(client: TestClient) -> None:
    client.post("/planner/login", data={"key": KEYS["planner"]}, follow_redirects=False)
    token = client.cookies[COOKIE]
    expiry, signed = token.split(".", 1)
    client.cookies.set(COOKIE, f"{int(expiry) + 10**6}.{signed}")
    assert client.get("/planner").status_code == 401
    client.cookies.set(COOKIE, "garbage")
    assert client.get("/segments").status_code == 401


def test_assets_are_served_by_linli_without_a_key(client: TestClient) -> None:
    script = client.get("/planner/assets/planner.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    urls = set(re.findall(r"https?://[^\s\"'`]+", script.text))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace name only: nothing from a CDN
    assert client.get("/planner/assets/planner.css").status_code == 200
    assert client.get("/planner/assets/secrets.txt").status_code == 404


def test_data_needs_a_planner_key_and_a_known_unit(client: TestClient) -> None:
    params = {"level": "district", "id": "D01"}
    assert client.get("/planner/data", params=params).status_code == 401
    assert client.get("/planner/data", params=params, headers=PLATFORM).status_code == 403
    assert client.get("/planner/data", params={"level": "street", "id": "NOPE"}, headers=PLANNER).status_code == 404


@pytest.mark.parametrize("level", ["community", "district"])
def test_data_shows_no_resident_count_below_k(client: TestClient, holder: ModelHolder, level: str) -> None:
    unit = holder.current.bundle.profile.reports.level(level).index[0]
    body = client.get("/planner/data", params={"level": level, "id": unit}, headers=PLANNER).json()
    assert body["k"] == 10 and body["usage"] and body["monthly"] and body["segments"]
    for row in body["usage"]:
        for column in ("users", "raters", "demand", "unmet"):
            assert row[column] == "<10" or row[column] >= 10, row
        if row["users"] == "<10":
            assert row["uses"] == "<10"
        if row["raters"] == "<10":
            assert row["mean_rating"] == "<10"
    for row in body["monthly"]:
        assert all(v == "<10" or v >= 10 for k, v in row.items() if k != "month"), row


def test_data_counts_match_the_interactions(client: TestClient, holder: ModelHolder, dataset: Dataset) -> None:
    """Users per category of a district, recounted straight from the interactions."""
    profile = holder.current.bundle.profile
    body = client.get("/planner/data", params={"level": "district", "id": "D01"}, headers=PLANNER).json()
    events = dataset.until(profile.cutoff).interactions
    geo = dataset.resident_geography().set_index("resident_id")["district_id"]
    used = events[events["event"].astype(str) == "use"]
    used = used[geo.reindex(used["resident_id"]).to_numpy() == "D01"]
    category = dataset.services.set_index("service_id")["category"]
    users = used.assign(category=category.reindex(used["service_id"]).to_numpy()).groupby("category")[
        "resident_id"].nunique()
    shown = {r["category"]: r["users"] for r in body["usage"] if r["persona"] == "all"}
    checked = 0
    for name, count in shown.items():
        if count != "<10":
            assert count == int(users.get(name, 0)), name
            checked += 1
    assert checked >= 5
    months = pd.to_datetime(events["timestamp"]).dt.strftime("%Y-%m").unique()
    assert [m["month"] for m in body["monthly"]] == sorted(months)


def test_unmet_demand_matches_a_recount(client: TestClient, holder: ModelHolder, dataset: Dataset) -> None:
    """Residents recommended (impression) or looking for (view, click) a service not offered to them as they prefer."""
    profile = holder.current.bundle.profile
    body = client.get("/planner/data", params={"level": "district", "id": "D01"}, headers=PLANNER).json()
    residents = dataset.resident_geography().set_index("resident_id")
    services = dataset.services.set_index("service_id")
    events = dataset.until(profile.cutoff).interactions
    events = events[events["event"].astype(str).isin(["impression", "view", "click"])]
    events = events[residents["district_id"].reindex(events["resident_id"]).to_numpy() == "D01"]
    unmet = set()
    for resident, service in zip(events["resident_id"], events["service_id"], strict=True):
        scope, channel = services.at[service, "community_scope"], services.at[service, "channel"]
        here = pd.isna(scope) or residents.at[resident, "community_id"] in str(scope).split(";")
        if not here or (channel == "online" and residents.at[resident, "preferred_channel"] == "offline"):
            unmet.add((resident, services.at[service, "category"]))
    recount = pd.Series([c for _, c in unmet]).value_counts()
    shown = {r["category"]: r["unmet"] for r in body["usage"] if r["persona"] == "all"}
    checked = [c for c, v in shown.items() if v != "<10"]
    assert len(checked) >= 3
    for category in checked:
        assert shown[category] == int(recount.get(category, 0)), category
