"""Configuration of the one hybrid (:class:`~recommenders.hybrid.HybridRecommender`): every part, as data.

A model is rebuilt from it; TOML files (``[hybrid]`` of a training config, ``experiments/configs/movielens.toml``)
fill it. Defaults are stated once: the ranker's in :class:`~recommenders.ranker.RankerConfig`, the rules' in
:class:`~recommenders.rules.RulesConfig`, the label strategies' in :mod:`recommenders.label_strategies`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from features.feature_registry import DEFAULT_FEATURE_SET, Entity, FeatureSet
from recommenders.base import RecommenderConfig
from recommenders.candidates import DEFAULT_GENERATOR_STATS, GeneratorStat
from recommenders.label_strategies import TIME_WINDOW_KEYS, LabelStrategy, TimeWindowLabels
from recommenders.ranker import RankerConfig
from recommenders.ranker_bag import BagCombination
from recommenders.rules import RULE_CROSS_FEATURES, RULE_RESIDENT_FEATURES, RulesConfig


def _default_generators() -> dict[str, dict[str, Any]]:
    """Generators of a default :class:`HybridConfig`, each with its default parameters."""
    return {"popular": {}, "persona_popular": {}, "als": {}, "bpr": {}, "item_knn": {}, "ease": {},
            "personal_frequency": {}}


class HybridConfig(RecommenderConfig):
    """Configuration of the hybrid (all parts; a model is rebuilt from it).

    The time-window keys ``label_weeks``, ``label_windows``, ``max_label_residents`` and ``shown_negatives`` may
    also be given at the top level (as configs did before label strategies); they fill ``labels``.
    """

    generators: dict[str, dict[str, Any]] = Field(default_factory=_default_generators)
    candidates_per_generator: int = Field(10, ge=1)
    labels: LabelStrategy = Field(default_factory=TimeWindowLabels)
    #: A feature set TOML path, or the name of a shipped set (``features/feature_sets/NAME.toml``); None: default.
    feature_set: str | None = None
    #: Statistics of each generator on every ranker row (``{generator}_{stat}``).
    generator_features: tuple[GeneratorStat, ...] = DEFAULT_GENERATOR_STATS
    #: Add ``n_generators``: how many generators propose the service.
    count_generators: bool = False
    #: Constrain the ranker to be monotone in the generator statistics (a better rank never lowers the score).
    monotone_generators: bool = False
    ranker: RankerConfig = Field(default_factory=RankerConfig)
    #: Rankers trained on the same rows with seeds ``seed, seed + 1, ...`` (:mod:`recommenders.ranker_bag`).
    ranker_bags: int = Field(3, ge=1)
    bag_combination: BagCombination = "mean_score"
    rules: RulesConfig = RulesConfig()
    seed: int = 0

    @model_validator(mode="before")
    @classmethod
    def _time_window_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(key in data for key in TIME_WINDOW_KEYS):
            data = dict(data)
            given = {key: data.pop(key) for key in TIME_WINDOW_KEYS if key in data}
            labels = data.get("labels", {})
            labels = labels.model_dump() if isinstance(labels, TimeWindowLabels) else dict(labels)
            if labels.get("kind", "time_window") != "time_window":
                raise ValueError(f"{sorted(given)} belong to time-window labels, but labels.kind is {labels['kind']!r}")
            data["labels"] = {**labels, **given, "kind": "time_window"}
        return data

    @property
    def label_weeks(self) -> int:
        """Weeks of one label window (0 for labels that are not a time window)."""
        return self.labels.label_weeks if isinstance(self.labels, TimeWindowLabels) else 0


def feature_set_path(name: str) -> Path:
    """A feature set file: ``name`` itself, or a shipped set (``features/feature_sets/NAME.toml``) by name."""
    shipped = DEFAULT_FEATURE_SET.with_name(f"{name}.toml")
    return shipped if not Path(name).exists() and shipped.exists() else Path(name)


def with_rule_features(feature_set: FeatureSet) -> FeatureSet:
    """``feature_set`` plus the resident and cross features the rules read (the hybrid always computes them)."""
    config = feature_set.to_dict()
    rule_features: tuple[tuple[Entity, tuple[str, ...]], ...] = (
        ("cross", RULE_CROSS_FEATURES), ("resident", RULE_RESIDENT_FEATURES))
    for entity, extra in rule_features:
        names = config[entity]["features"]
        names += [f for f in extra if f not in names and f not in feature_set.columns(entity)]
    return FeatureSet.from_dict(config, name=feature_set.name)


__all__ = ["HybridConfig", "feature_set_path", "with_rule_features"]
