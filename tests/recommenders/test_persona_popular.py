"""Persona popularity: the shared contract, persona lists, cold-start residents and new services."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.columns import Columns as C
from features.columns import Vocab
from features.dataset import Dataset
from features.errors import DataValidationError
from features.sources.synthetic import SyntheticCommunity
from recommenders.base import Recommender
from recommenders.persona_popular import PersonaPopularRecommender
from recommenders.testing import RecommenderContract, holdout_cutoff

NEW_SERVICE = "SV-NEW-ELDERLY"


class TestPersonaPopular(RecommenderContract):
    min_ndcg_lift_over_random = 3.0
    min_ndcg_lift_over_popular = 1.3

    def make_model(self) -> Recommender:
        return PersonaPopularRecommender()


def _profile(resident_id: str, community_id: str, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {C.RESIDENT: resident_id, C.COMMUNITY: community_id, C.BIRTH_YEAR: 1980,
                              C.HOUSEHOLD_SIZE: 2, C.CHILDREN: 0, C.EMPLOYMENT: "employed",
                              C.RESIDENCY: "registered", C.MONTHS_RESIDENT: 120,
                              C.ACCESSIBILITY: "none", C.PREFERRED_CHANNEL: "both"}
    return row | fields


@pytest.fixture(scope="module")
def model(dataset: Dataset) -> PersonaPopularRecommender:
    return PersonaPopularRecommender().fit(dataset, holdout_cutoff(dataset))


@pytest.fixture(scope="module")
def newcomers(dataset: Dataset) -> pd.DataFrame:
    community = dataset.communities[C.COMMUNITY].iloc[0]
    return pd.DataFrame([
        _profile("NEW-ELDER", community, birth_year=1940, employment="retired", household_size=1),
        _profile("NEW-STUDENT", community, birth_year=2007, employment="student", months_resident=200),
        _profile("NEW-NOBODY", community, employment="employed", months_resident=240),
    ])


def _categories(dataset: Dataset, services: pd.Series) -> list[str]:
    lookup = dataset.services.set_index(C.SERVICE)[C.CATEGORY].astype(str)
    return list(lookup.loc[services.to_numpy()])


def test_cold_start_residents_get_their_personas_services(dataset: Dataset, model: PersonaPopularRecommender,
                                                          newcomers: pd.DataFrame) -> None:
    personas = model.profile_personas(newcomers)
    assert personas.loc["NEW-ELDER", "elderly"] and personas.loc["NEW-STUDENT", "student"]
    assert not personas.loc["NEW-NOBODY"].any()
    out = model.recommend_for_profiles(newcomers, k=3)
    assert list(pd.unique(out[C.RESIDENT])) == list(newcomers[C.RESIDENT])
    elder = _categories(dataset, out.loc[out[C.RESIDENT] == "NEW-ELDER", C.SERVICE])
    student = _categories(dataset, out.loc[out[C.RESIDENT] == "NEW-STUDENT", C.SERVICE])
    assert elder[0] in {"elderly_care", "health"} and "youth_study" in student
    nobody = out.loc[out[C.RESIDENT] == "NEW-NOBODY", C.SERVICE].to_numpy()
    assert list(nobody) == list(dataset.service_ids.to_external(np.argsort(-model.popularity_, kind="stable")[:3]))


def test_bad_profile_row_is_reported(model: PersonaPopularRecommender, newcomers: pd.DataFrame) -> None:
    broken = newcomers.assign(**{C.HOUSEHOLD_SIZE: [-1, 2, 2]})
    with pytest.raises(DataValidationError, match=C.HOUSEHOLD_SIZE):
        model.recommend_for_profiles(broken)


def test_multi_persona_residents_average_their_personas(model: PersonaPopularRecommender) -> None:
    tags = model.persona_tags_
    resident = int(np.flatnonzero(tags.sum(axis=1) == 2)[0])
    mean = model.persona_popularity_[tags[resident]].mean(axis=0)
    expected = (1 - model.config.global_weight) * mean + model.config.global_weight * model.popularity_
    assert np.allclose(model.score_matrix(np.array([resident]))[0], expected)
    assert np.allclose(model.persona_popularity_.sum(axis=1), 1.0)


def test_persona_distributions_follow_the_persona(dataset: Dataset, model: PersonaPopularRecommender) -> None:
    elderly_care = (dataset.services.set_index(C.SERVICE).loc[dataset.service_ids.external, C.CATEGORY]
                    .astype(str).to_numpy() == "elderly_care")
    share = model.persona_popularity_[:, elderly_care].sum(axis=1)
    assert share[Vocab.PERSONAS.index("elderly")] > 2 * model.popularity_[elderly_care].sum()
    assert share[Vocab.PERSONAS.index("elderly")] == share.max()


@pytest.fixture(scope="module")
def with_new_service(community: SyntheticCommunity) -> Dataset:
    frames = {name: frame.copy() for name, frame in community.frames.items()}
    services = frames["services"]
    template = services[services[C.CATEGORY] == "elderly_care"].iloc[[0]]
    frames["services"] = pd.concat([services, template.assign(**{C.SERVICE: NEW_SERVICE})], ignore_index=True)
    return Dataset.from_frames(**frames)


def test_new_service_gets_its_category_prior_within_each_persona(with_new_service: Dataset,
                                                                 newcomers: pd.DataFrame) -> None:
    model = PersonaPopularRecommender().fit(with_new_service)
    new = with_new_service.service_ids.to_internal([NEW_SERVICE])[0]
    assert model.new_services_.sum() == 1 and model.new_services_[new]
    scores = pd.DataFrame(model.score_profiles(newcomers), index=newcomers[C.RESIDENT])
    assert scores.loc["NEW-ELDER", new] > 3 * scores.loc["NEW-STUDENT", new]
    elder_rank = int((scores.loc["NEW-ELDER"] > scores.loc["NEW-ELDER", new]).sum()) + 1
    assert elder_rank <= 15, "a new elderly-care service should rank with its category for the elderly"
    without = PersonaPopularRecommender(new_service_prior=0.0).fit(with_new_service)
    assert (without.score_profiles(newcomers)[:, new] == 0).all()
