"""The training configuration: one pydantic model holding every default, read from TOML.

The shipped file, ``training/default.toml`` (:data:`DEFAULT_CONFIG`), lists only what production changes from
the defaults; experiments (``experiments/configs/``) list only what they change from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from features.toml_files import read_toml
from recommenders.hybrid import HybridConfig
from training.promotion import GateConfig

#: The shipped training config, package data next to this module (so an installed wheel finds it).
DEFAULT_CONFIG = Path(__file__).with_name("default.toml")
SINGLE_MODELS = ("popular", "persona_popular", "als", "bpr", "item_knn", "ease", "personal_frequency")


class TrainConfigError(ValueError):
    """A training configuration file cannot be read or breaks its schema."""


class TrainConfig(BaseModel):
    """Everything a retrain needs besides the data.

    Attributes
    ----------
    test_weeks : int
        Length of the held-out time window at the end of the data.
    k : int
        List length evaluated (NDCG@k and friends).
    seed : int
        Seed of every random part; same data and seed give the same metrics.
    hybrid : HybridConfig
        The production model: generators, ranker, rules, feature set. Its ``seed`` is ``seed`` unless the
        config sets ``hybrid.seed`` itself.
    single_models : tuple of str
        Models evaluated on their own on the same split, for comparison.
    gate : GateConfig
        The promotion gate.
    refit_ranker : bool
        After evaluation, train the served model again from scratch on all data, ranker included, instead of
        refitting only the candidate generators and features. The ranker then learns from the latest
        ``label_weeks`` too — the feedback of the last days, where shown-but-not-clicked services are its
        negatives — at the cost of a second ranker fit. With ``False`` feedback reaches the ranker once it is
        older than ``test_weeks``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    test_weeks: int = Field(4, ge=1)
    k: int = Field(10, ge=1, le=100)
    seed: int = 42
    hybrid: HybridConfig = HybridConfig()
    single_models: tuple[str, ...] = SINGLE_MODELS
    gate: GateConfig = GateConfig()
    refit_ranker: bool = False

    @model_validator(mode="before")
    @classmethod
    def _defaults_under_partial_tables(cls, data: Any) -> Any:
        """Keep the code's nested choices under a partial table, and give the hybrid the config's seed when it
        names none of its own."""
        if not isinstance(data, dict):
            return data
        data = _over_nested_defaults(cls, data)
        seed = data.get("seed", cls.model_fields["seed"].default)
        hybrid = data.get("hybrid", {})
        if isinstance(hybrid, dict) and "seed" not in hybrid:
            return {**data, "hybrid": {**hybrid, "seed": seed}}
        if isinstance(hybrid, HybridConfig) and "seed" not in hybrid.model_fields_set:
            return {**data, "hybrid": hybrid.model_copy(update={"seed": seed})}
        return data

    @classmethod
    def from_toml(cls, path: str | Path = DEFAULT_CONFIG) -> TrainConfig:
        """Read a config file; unknown keys and bad values are errors naming the key."""
        raw = read_toml(path, TrainConfigError, "training config")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise TrainConfigError(f"training config {path} is invalid:\n{exc}") from exc

    def with_seed(self, seed: int) -> TrainConfig:
        """The same config with every seed set to ``seed``."""
        hybrid = self.hybrid.model_copy(update={"seed": seed})
        return self.model_copy(update={"seed": seed, "hybrid": hybrid})


def _over_nested_defaults(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with each partial sub-table laid over the settings its field's default chose.

    A file that sets one ``[hybrid.ranker]`` setting keeps the others the code chose for the hybrid (its ranker
    default is a ``RankerConfig`` with its own choices, not ``RankerConfig()``), so a file lists only what differs.
    """
    out = dict(data)
    for name, field in model.model_fields.items():
        value, kind = out.get(name), field.annotation
        if not (isinstance(value, dict) and isinstance(kind, type) and issubclass(kind, BaseModel)):
            continue
        default = field.get_default(call_default_factory=True)
        chosen = default.model_dump(include=set(default.model_fields_set)) if isinstance(default, BaseModel) else {}
        out[name] = {**chosen, **_over_nested_defaults(kind, value)}
    return out
