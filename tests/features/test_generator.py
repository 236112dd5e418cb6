"""The synthetic community: reproducible, contract-valid, realistic enough to learn from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import Columns as C
from features import Vocab
from features.sources import load_folder
from features.sources.synthetic import SyntheticCommunity, generate_community, read_ground_truth


def test_same_seed_same_community_and_other_seed_differs() -> None:
    a, b = generate_community(500, seed=3), generate_community(500, seed=3)
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name])
    other = generate_community(500, seed=4)
    assert not a.frames["interactions"].equals(other.frames["interactions"])


def test_generated_tables_pass_the_contracts(community: SyntheticCommunity) -> None:
    data = community.dataset()
    assert data.summary()["residents"] == 3000
    assert data.dropped == {}
    assert 15 <= len(data.interactions) / len(data.residents) <= 30


def test_catalogue_has_real_bilingual_services(community: SyntheticCommunity) -> None:
    services = community.frames["services"]
    assert len(services) >= 60
    for name in ("老年助餐", "日间照料", "家庭医生签约", "托育服务", "课后托管", "居住证办理", "就业招聘",
                 "快递驿站", "社区文体活动", "志愿服务"):
        assert name in set(services[C.NAME_ZH])
    assert services[C.NAME_EN].notna().all()
    assert set(services[C.CATEGORY]) == set(Vocab.SERVICE_CATEGORIES)
    assert set(services[C.CHANNEL]) == set(Vocab.CHANNEL)


def test_geography_has_every_community_kind_and_a_hierarchy() -> None:
    communities = generate_community(12_000, seed=1).frames["communities"]
    assert set(communities[C.COMMUNITY_KIND]) == set(Vocab.COMMUNITY_KINDS) - set() | {"mixed"}
    assert communities[C.DISTRICT].nunique() >= 2
    assert communities[C.STREET].nunique() > communities[C.DISTRICT].nunique()
    assert communities.groupby(C.STREET)[C.DISTRICT].nunique().max() == 1


def test_residents_overlap_types_and_carry_noise(community: SyntheticCommunity) -> None:
    residents, truth = community.frames["residents"], community.truth
    multi = truth["latent_types"].str.contains(";")
    assert 0.1 < multi.mean() < 0.6, "some residents belong to two types"
    assert 0.01 < residents[C.BIRTH_YEAR].isna().mean() < 0.1, "some ages are unknown"
    assert residents[C.CHILDREN].isna().any() and residents[C.RESIDENCY].isna().any()
    elderly = truth["latent_types"].str.contains("elderly").to_numpy()
    age = 2026 - residents[C.BIRTH_YEAR].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    assert np.nanmin(age[elderly]) >= 60 and np.nanmax(age[~elderly]) < 60
    retired_young = (residents[C.EMPLOYMENT] == "retired").to_numpy() & ~elderly
    assert retired_young.any(), "early retirees exist, so 'retired' alone does not mean elderly"


def test_commuters_act_at_weekday_peaks(community: SyntheticCommunity) -> None:
    """Employed commuters and employed residents working locally differ in when they act."""
    events = community.frames["interactions"]
    events = events[events[C.EVENT] != "impression"]
    residents = community.frames["residents"]
    employed = set(residents.loc[residents[C.EMPLOYMENT] == "employed", C.RESIDENT])
    commuters = set(community.truth.loc[community.truth["latent_types"].str.contains("commuter"), C.RESIDENT])
    who = events[C.RESIDENT].astype(str)
    ts = events[C.TIMESTAMP].dt
    peak = (ts.day_of_week < 5) & (ts.hour.between(6, 9) | ts.hour.between(17, 22))
    commuting = peak[who.isin(commuters & employed)].mean()
    local = peak[who.isin(employed - commuters)].mean()
    assert commuting > 0.55 and local < 0.3


def test_behaviour_follows_hidden_preferences(community: SyntheticCommunity) -> None:
    """Residents use the services they truly prefer far more than chance, and ratings track preference."""
    scores = np.stack(community.truth["true_scores"].to_numpy())
    events = community.frames["interactions"]
    used = events[events[C.EVENT] == "use"]
    r = used[C.RESIDENT].cat.codes.to_numpy()
    s = used[C.SERVICE].cat.codes.to_numpy()
    assert np.isfinite(scores[r, s]).all(), "nobody uses a service they are not eligible for"
    percentile = (scores[r][:, :] < scores[r, s][:, None]).sum(axis=1) / np.isfinite(scores[r]).sum(axis=1)
    assert percentile.mean() > 0.75
    rated = events[events[C.EVENT] == "rate"]
    true = scores[rated[C.RESIDENT].cat.codes, rated[C.SERVICE].cat.codes]
    assert np.corrcoef(true, rated[C.RATING])[0, 1] > 0.3


def test_offline_residents_are_served_offline(community: SyntheticCommunity) -> None:
    residents = community.frames["residents"]
    offline = set(residents.loc[residents[C.PREFERRED_CHANNEL] == "offline", C.RESIDENT])
    events = community.frames["interactions"]
    mine = events[events[C.RESIDENT].astype(str).isin(offline)]
    assert (mine[C.CHANNEL] == "offline").mean() > 0.4
    assert (events.loc[~events[C.RESIDENT].astype(str).isin(offline), C.CHANNEL] == "offline").mean() < 0.2


def test_write_then_load_round_trips_and_keeps_truth_apart(community: SyntheticCommunity, community_dir) -> None:
    loaded = load_folder(community_dir)
    assert loaded.summary() == community.dataset().summary()
    truth = read_ground_truth(community_dir)
    assert truth is not None and list(truth[C.RESIDENT]) == list(community.truth[C.RESIDENT])
    assert "latent_types" not in loaded.residents.columns


def test_rejects_an_empty_community() -> None:
    with pytest.raises(ValueError, match="residents must be"):
        generate_community(0)
