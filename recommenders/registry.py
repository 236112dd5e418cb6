"""Recommenders by name, so configs, experiments and the CLI can build a model from text.

``make_recommender("als", {"factors": 32})`` builds an unfitted model; ``recommender_from_params`` rebuilds
one from the flat dict of :meth:`~recommenders.base.Recommender.get_params` (as logged to MLflow).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recommenders.adoption import AdoptionRecommender
from recommenders.als import ALSRecommender
from recommenders.base import Recommender
from recommenders.bpr import BPRRecommender
from recommenders.ease import EASERecommender
from recommenders.item_knn import ItemKNNRecommender
from recommenders.persona_popular import PersonaPopularRecommender
from recommenders.personal_frequency import PersonalFrequencyRecommender
from recommenders.popular import PopularCountRecommender, PopularRecommender

#: Candidate generators by name (the ``name`` of each class).
RECOMMENDERS: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (PopularRecommender, PopularCountRecommender, PersonalFrequencyRecommender, PersonaPopularRecommender,
                AdoptionRecommender, ALSRecommender, BPRRecommender, ItemKNNRecommender, EASERecommender)
}


class UnknownRecommenderError(KeyError):
    """A recommender name is not registered."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown recommender {name!r}; choose one of {sorted(RECOMMENDERS)}")

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


def recommender_class(name: str) -> type[Recommender]:
    """The class registered under ``name``.

    Raises
    ------
    UnknownRecommenderError
        If no recommender has that name.
    """
    try:
        return RECOMMENDERS[name]
    except KeyError:
        raise UnknownRecommenderError(name) from None


def make_recommender(name: str, params: Mapping[str, Any] | None = None) -> Recommender:
    """An unfitted recommender built from its name and config fields.

    Parameters
    ----------
    name : str
        One of :data:`RECOMMENDERS` (``popular``, ``persona_popular``, ``als``, ``bpr``, ``item_knn``, ``ease``,
        ``personal_frequency``, ``adoption``).
    params : mapping, optional
        Fields of the model's config (nested ``{"weights": {"view": 0.2}}`` or dotted ``{"weights.view": 0.2}``).

    Raises
    ------
    UnknownRecommenderError
        If ``name`` is not registered.
    pydantic.ValidationError
        If a parameter is unknown or out of range (the message names it).
    """
    cls = recommender_class(name)
    return cls(cls.config_class.model_validate(_nest(dict(params or {}))))


def recommender_from_params(params: Mapping[str, Any]) -> Recommender:
    """Rebuild an unfitted recommender from the flat dict its ``get_params()`` returned.

    Raises
    ------
    ValueError
        If the keys do not all start with the same registered model name.
    """
    names = {key.split(".", 1)[0] for key in params}
    if len(names) != 1:
        raise ValueError(f"params must belong to one model (keys '<model>.<field>'), got prefixes {sorted(names)}")
    name = names.pop()
    return make_recommender(name, {key.split(".", 1)[1]: value for key, value in params.items()})


def _nest(params: dict[str, Any]) -> dict[str, Any]:
    """``{"weights.view": 1}`` → ``{"weights": {"view": 1}}``; nested dicts pass through."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        head, _, rest = key.partition(".")
        if rest:
            out.setdefault(head, {})
            out[head] = {**out[head], **_nest({rest: value})}
        else:
            out[key] = value
    return out
