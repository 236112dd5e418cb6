"""The registry builds every recommender by name and rebuilds it from its logged parameters."""

from __future__ import annotations

import pydantic
import pytest

from recommenders.registry import (
    RECOMMENDERS,
    UnknownRecommenderError,
    make_recommender,
    recommender_class,
    recommender_from_params,
)


def test_the_candidate_generators_are_registered() -> None:
    expected = {"popular", "popular_count", "personal_frequency", "persona_popular", "als", "bpr", "item_knn", "ease"}
    assert expected <= set(RECOMMENDERS)
    assert all(cls.name == name for name, cls in RECOMMENDERS.items())


@pytest.mark.parametrize("name", sorted(RECOMMENDERS))
def test_logged_params_rebuild_the_same_model(name: str) -> None:
    model = make_recommender(name, {"weights.view": 0.25})
    assert isinstance(model, recommender_class(name))
    params = model.get_params()
    assert params[f"{name}.weights.view"] == 0.25
    assert recommender_from_params(params).get_params() == params


def test_nested_and_dotted_params_agree() -> None:
    dotted = make_recommender("als", {"factors": 8, "weights.use": 5.0})
    nested = make_recommender("als", {"factors": 8, "weights": {"use": 5.0}})
    assert dotted.get_params() == nested.get_params()


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(UnknownRecommenderError, match=r"choose one of .*'als'"):
        make_recommender("svd")


def test_unknown_or_bad_param_is_an_error() -> None:
    with pytest.raises(pydantic.ValidationError, match="factor"):
        make_recommender("als", {"factor": 8})
    with pytest.raises(pydantic.ValidationError, match="neighbours"):
        make_recommender("item_knn", {"neighbours": 0})


def test_params_of_two_models_are_refused() -> None:
    with pytest.raises(ValueError, match="one model"):
        recommender_from_params({"als.factors": 8, "bpr.factors": 8})
