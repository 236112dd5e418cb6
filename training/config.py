"""The training configuration: one pydantic model, read from TOML (``experiments/configs/*.toml``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from recommenders.hybrid import HybridConfig
from training.promotion import GateConfig

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "default.toml"
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
        The production model: generators, ranker, rules, feature set.
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

    @classmethod
    def from_toml(cls, path: str | Path = DEFAULT_CONFIG) -> TrainConfig:
        """Read a config file; unknown keys and bad values are errors naming the key."""
        try:
            with Path(path).open("rb") as handle:
                return cls.model_validate(tomllib.load(handle))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise TrainConfigError(f"cannot read training config {path}: {exc}") from exc
        except ValidationError as exc:
            raise TrainConfigError(f"training config {path} is invalid:\n{exc}") from exc

    def with_seed(self, seed: int) -> TrainConfig:
        """The same config with every seed set to ``seed``."""
        hybrid = self.hybrid.model_copy(update={"seed": seed})
        return self.model_copy(update={"seed": seed, "hybrid": hybrid})
