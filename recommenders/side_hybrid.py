"""A two-stage hybrid for randomly split rating data (the published MovieLens protocol).

Linli's :class:`~recommenders.hybrid.HybridRecommender` learns its ranker from the last weeks before a cut-off,
which suits a community platform's time-ordered events. Benchmarks on public data split at random instead,
so this hybrid takes its labels from a held-out slice of the training ratings:

1. :meth:`SideHybrid.fit` — for each fold of train (``history`` = train minus a held-out slice), fit the
   generators (tuned CF models) and :class:`~recommenders.side_features.SideFeatures` on ``history``; each
   generator proposes its top services the resident has not rated; the union is the candidate set, labelled
   by the held-out ratings (binary). LightGBM LambdaRank learns to order the stacked candidates from each
   generator's rank and relative score (monotone: a better rank never lowers the score, which keeps label
   noise from reshuffling the CF order) plus side information. A few hundred residents give noisy labels,
   so every training rating is held out once (k folds) rather than one validation slice. With
   ``bags`` > 1, several rankers (seeds ``seed, seed + 1, ...``) are trained on the same rows and their
   per-resident rank shares averaged, which damps the variance that label noise leaves in one ranker.
2. :meth:`SideHybrid.refit` — refit the generators and features on all of train, keeping the ranker.
3. :meth:`SideHybrid.score_matrix` — ranker scores of the candidates (−inf elsewhere and for rated services).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.base import Recommender
from recommenders.errors import NotEnoughHistoryError, NotFittedError
from recommenders.ranker import RankerConfig
from recommenders.ranker_bag import RankerBag
from recommenders.registry import make_recommender
from recommenders.side_features import SideFeatures

_RANKER = RankerConfig(n_estimators=300, learning_rate=0.05, num_leaves=31, min_child_samples=50,
                       early_stopping_rounds=40, truncation_level=20, max_bin=255)


class TrainingRows(NamedTuple):
    """Labelled candidate rows for the ranker (see :meth:`SideHybrid.training_rows`)."""

    features: pd.DataFrame
    relevance: np.ndarray
    groups: np.ndarray
    candidate_recall: float


def _default_generators() -> dict[str, dict[str, Any]]:
    """Candidate generators of a default :class:`SideHybridConfig`, each with its default parameters."""
    return {"als": {}, "ease": {}, "popular": {}}


class SideHybridConfig(BaseModel):
    """Configuration of :class:`SideHybrid`.

    Attributes
    ----------
    generators : dict
        Generator name (a registered recommender) → its config fields (tuned beforehand).
    candidates_per_generator : int
        Unrated services each generator proposes per resident.
    side_features : bool
        Add :class:`SideFeatures` (demographics, genres, time); ``False`` ranks on generator features only.
    time_kernel : bool
        Also the kernel-smoothed "popular while the resident was active" features (see :class:`SideFeatures`).
    ranker : RankerConfig
    bags : int
        Rankers trained with seeds ``seed, seed + 1, ...`` (different early-stopping residents and row and
        feature subsamples); their per-resident rank shares are averaged.
    seed : int
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    generators: dict[str, dict[str, Any]] = Field(default_factory=_default_generators)
    candidates_per_generator: int = Field(50, ge=1)
    side_features: bool = True
    time_kernel: bool = False
    ranker: RankerConfig = _RANKER
    bags: int = Field(1, ge=1)
    seed: int = 0


class SideHybrid:
    """Candidates from tuned generators, ordered by LambdaRank over generator ranks and side information."""

    def __init__(self, config: SideHybridConfig | None = None, **params: Any) -> None:
        self.config = config if config is not None else SideHybridConfig(**params)

    def get_params(self) -> dict[str, Any]:
        """Flat parameters for experiment tracking."""
        cfg = self.config
        flat: dict[str, Any] = {"side_hybrid.candidates_per_generator": cfg.candidates_per_generator,
                                "side_hybrid.side_features": cfg.side_features,
                                "side_hybrid.time_kernel": cfg.time_kernel, "side_hybrid.bags": cfg.bags,
                                "side_hybrid.seed": cfg.seed}
        for name, params in cfg.generators.items():
            flat |= {f"side_hybrid.{k}": v for k, v in make_recommender(name, params).get_params().items()}
        return flat | {f"side_hybrid.ranker.{k}": v for k, v in cfg.ranker.model_dump().items()}

    def fit(self, folds: list[tuple[Dataset, pd.DataFrame]]) -> Self:
        """Train the ranker on held-out ratings: per ``(history, labels)`` fold, candidates from ``history``,
        labels from ``labels``; the folds' rows are stacked (each resident once per fold).

        Raises
        ------
        NotEnoughHistoryError
            If no labelled resident has a labelled service among their candidates.
        """
        return self.fit_ranker(self.training_rows(folds))

    def training_rows(self, folds: list[tuple[Dataset, pd.DataFrame]]) -> TrainingRows:
        """The ranker's labelled candidate rows from ``folds`` (fits the generators on each fold's history).

        Raises
        ------
        NotEnoughHistoryError
            If no labelled resident has a labelled service among their candidates.
        """
        parts: list[tuple[pd.DataFrame, np.ndarray, np.ndarray]] = []
        held_out = found = groups = 0
        for history, labels in folds:
            self._fit_parts(history)
            residents = np.sort(history.resident_ids.to_internal(pd.unique(labels[C.RESIDENT])))
            features, rows, cols = self.candidates(residents)
            wanted = pd.MultiIndex.from_arrays([history.resident_ids.to_external(residents[rows]),
                                                history.service_ids.to_external(cols)])
            rated = pd.MultiIndex.from_frame(labels[[C.RESIDENT, C.SERVICE]].astype(object))
            relevance = wanted.isin(rated).astype(np.int32)
            keep = pd.Series(relevance).groupby(rows).transform("max").to_numpy() > 0
            codes = _dense_codes(rows[keep]) + groups
            groups += len(np.unique(codes))
            parts.append((features[keep], relevance[keep], codes))
            held_out, found = held_out + len(labels), found + int(relevance.sum())
        if not found:
            raise NotEnoughHistoryError("no held-out rating is among the candidates; use more data or candidates")
        return TrainingRows(pd.concat([p[0] for p in parts], ignore_index=True),
                            np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]),
                            found / max(held_out, 1))

    def fit_ranker(self, rows: TrainingRows) -> Self:
        """Train ``config.bags`` rankers (seeds ``seed``, ``seed + 1``, ...) on :meth:`training_rows` output."""
        names = [c[: -len("_rank")] for c in rows.features.columns if c.endswith("_rank")]
        monotone = {f"{n}_rank": -1 for n in names} | {f"{n}_relative": 1 for n in names}
        config = self.config.ranker.model_copy(update={"monotone": monotone})
        self.ranker_ = RankerBag(config, self.config.bags, self.config.seed).fit(rows.features, rows.relevance,
                                                                               rows.groups)
        self.candidate_recall_ = rows.candidate_recall
        return self

    def refit(self, dataset: Dataset) -> Self:
        """Refit the generators and side features on ``dataset`` (all of train), keeping the trained ranker."""
        if not hasattr(self, "ranker_"):
            raise NotFittedError(type(self).__name__)
        self._fit_parts(dataset)
        return self

    def score_matrix(self, residents: np.ndarray) -> np.ndarray:
        """(len(residents) × services) ranker scores for internal ids; −inf off the candidate set."""
        if not hasattr(self, "ranker_"):
            raise NotFittedError(type(self).__name__)
        residents = np.asarray(residents, dtype=np.int64)
        features, rows, cols = self.candidates(residents)
        scores = np.full((len(residents), self.seen_.shape[1]), -np.inf)
        scores[rows, cols] = self.predict(features, rows)
        return scores

    def predict(self, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """Ranker score of candidate rows (``rows``: the resident of each); with several bags, the mean of each
        bag's per-resident rank share (0 worst … 1 best), so that no bag's score scale dominates."""
        if not hasattr(self, "ranker_"):
            raise NotFittedError(type(self).__name__)
        if self.ranker_.bags == 1:
            return self.ranker_.predict(features)
        return self.ranker_.rank_shares(features, rows)

    # ----- internals ------------------------------------------------------------------------------------
    def _fit_parts(self, dataset: Dataset) -> None:
        self.generators_: dict[str, Recommender] = {
            name: make_recommender(name, params).fit(dataset) for name, params in self.config.generators.items()}
        rows = dataset.resident_ids.to_internal(dataset.interactions[C.RESIDENT])
        cols = dataset.service_ids.to_internal(dataset.interactions[C.SERVICE])
        self.seen_ = sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)),
                                   shape=(len(dataset.resident_ids), len(dataset.service_ids)))
        self.side_ = (SideFeatures(time_kernel=self.config.time_kernel).fit(dataset) if self.config.side_features
                      else None)

    def candidates(self, residents: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """Candidate features of ``residents`` (internal ids) and, per row, its position in ``residents`` and
        its service's internal id, from the currently fitted generators (rows grouped by resident)."""
        seen_rows, seen_cols = self.seen_[residents].nonzero()
        take = self.config.candidates_per_generator
        mask = np.zeros((len(residents), self.seen_.shape[1]), dtype=bool)
        columns: dict[str, np.ndarray] = {}
        for name, model in self.generators_.items():
            scores = model.score_matrix(residents).astype(np.float64, copy=True)
            scores[seen_rows, seen_cols] = -np.inf
            rank, relative = _rank_and_relative(scores)
            np.logical_or(mask, rank <= take, out=mask)
            columns[f"{name}_rank"], columns[f"{name}_relative"] = rank, relative
        rows, cols = np.nonzero(mask)
        frame = pd.DataFrame({name: values[rows, cols] for name, values in columns.items()}).astype(np.float32)
        frame["n_generators"] = sum((columns[f"{n}_rank"][rows, cols] <= take).astype(np.float32)
                                    for n in self.generators_)
        if self.side_ is not None:
            frame = pd.concat([frame, self.side_.pairs(residents[rows], cols)], axis=1)
        return frame, rows, cols


def _dense_codes(rows: np.ndarray) -> np.ndarray:
    """Sorted row numbers → 0, 1, 2, ... (one code per resident, order kept)."""
    return np.unique(rows, return_inverse=True)[1]


def _rank_and_relative(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: rank of every service (1 = best, ties by order) and its score standardised over finite scores."""
    order = np.argsort(-scores, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(1, scores.shape[1] + 1)[None, :], axis=1)
    finite = np.where(np.isfinite(scores), scores, np.nan)
    best = np.nanmax(finite, axis=1, keepdims=True)
    spread = np.nanstd(finite, axis=1, keepdims=True)
    relative = (finite - best) / np.where(spread > 0, spread, 1.0)
    return rank.astype(np.float64), relative


__all__ = ["SideHybrid", "SideHybridConfig", "TrainingRows"]
