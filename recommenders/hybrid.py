"""The hybrid recommender: candidate generators → LightGBM LambdaRank → rules → explained top-k.

``fit(dataset, cutoff)`` trains in two stages on the history before ``cutoff``:
1. the generators are fitted on the history before ``cutoff − label_weeks``; the ranker learns to
   order their candidates from the residents' positive events in the last ``label_weeks`` (with early
   stopping on held-out residents); with ``label_windows`` > 1 the same is repeated for earlier windows of
   ``label_weeks`` and the ranker trains on all of them;
2. the generators and the feature pipeline are refitted on the whole history, so serving uses
   everything known at ``cutoff``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from features.columns import Columns as C
from features.dataset import Dataset
from features.feature_registry import Entity, FeatureSet
from features.pipeline import FeaturePipeline
from recommenders.base import RANK, SCORE, Recommender, RecommenderConfig
from recommenders.candidates import candidate_mask, candidate_rows, resident_table
from recommenders.errors import NotEnoughHistoryError
from recommenders.explanations import Explainer
from recommenders.ranker import RankerConfig
from recommenders.ranker_bag import RankerBag
from recommenders.registry import make_recommender
from recommenders.repeat import learn_repeat
from recommenders.rules import RULE_CROSS_FEATURES, RULE_RESIDENT_FEATURES, RulesConfig, ServiceRules

#: Graded relevance of an event for ranker labels (rate uses the rating).
_LABEL = {"click": 1, "book": 2, "use": 3}


def _default_generators() -> dict[str, dict[str, Any]]:
    """Generators of a default :class:`HybridConfig`, each with its default parameters."""
    return {"popular": {}, "persona_popular": {}, "als": {}, "bpr": {}, "item_knn": {}, "ease": {},
            "personal_frequency": {}}


class HybridConfig(RecommenderConfig):
    """Configuration of the hybrid (all parts; a model is rebuilt from it)."""

    generators: dict[str, dict[str, Any]] = Field(default_factory=_default_generators)
    candidates_per_generator: int = Field(10, ge=1)
    label_weeks: int = Field(3, ge=1)
    #: Consecutive label windows of ``label_weeks`` the ranker trains on, newest first: window ``i`` labels the
    #: weeks ``[cutoff − (i+1)·label_weeks, cutoff − i·label_weeks)`` with generators and features fitted
    #: before them. 1 is today's single window; more give the ranker more (older) examples at the cost of a
    #: generator fit per window. Windows without history are skipped.
    label_windows: int = Field(1, ge=1, le=6)
    max_label_residents: int = Field(15_000, ge=100)
    feature_set: str | None = None
    #: Services shown to a resident in the label window (``impression`` events, e.g. served lists from the
    #: feedback store) and not taken up join the ranker's training rows as negatives (label 0), so a list
    #: passed over teaches the ranker even when no generator proposed those services.
    shown_negatives: bool = True
    #: 15 leaves (not LightGBM's 31): as good on validation communities and half the cost of explanations.
    ranker: RankerConfig = RankerConfig(num_leaves=15)
    #: Rankers trained on the same rows with seeds ``seed, seed + 1, ...`` and averaged (see
    #: :mod:`recommenders.ranker_bag`); 3 was chosen on validation communities, 1 is a single ranker.
    ranker_bags: int = Field(3, ge=1)
    rules: RulesConfig = RulesConfig()
    seed: int = 0


def _with_rule_features(feature_set: FeatureSet) -> FeatureSet:
    config = feature_set.to_dict()
    rule_features: tuple[tuple[Entity, tuple[str, ...]], ...] = (
        ("cross", RULE_CROSS_FEATURES), ("resident", RULE_RESIDENT_FEATURES))
    for entity, extra in rule_features:
        names = config[entity]["features"]
        names += [f for f in extra if f not in names and f not in feature_set.columns(entity)]
    return FeatureSet.from_dict(config, name=feature_set.name)


class HybridRecommender(Recommender):
    """Candidates from several generators, ranked by LambdaRank, filtered and diversified by rules."""

    name = "hybrid"
    config_class = HybridConfig
    config: HybridConfig

    # ----- training -------------------------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        base = FeatureSet.from_toml(cfg.feature_set) if cfg.feature_set else FeatureSet.default()
        self.feature_set_ = _with_rule_features(base)
        parts: list[tuple[pd.DataFrame, np.ndarray, np.ndarray]] = []
        first_event = dataset.interactions[C.TIMESTAMP].min()
        for window in range(cfg.label_windows):
            end = self.cutoff_ - pd.Timedelta(weeks=cfg.label_weeks * window)
            start = end - pd.Timedelta(weeks=cfg.label_weeks)
            if window and not start > first_event:
                break  # no history before this window to fit its generators on
            self._fit_stage(dataset, start)
            try:
                features, relevance, rows = self._training_rows(dataset, start, end)
            except NotEnoughHistoryError:
                if window == 0:
                    raise
                break
            offset = parts[-1][2].max() + 1 if parts else 0  # each window's residents are groups of their own
            parts.append((features, relevance, rows + offset))
        features = pd.concat([p[0] for p in parts], ignore_index=True)
        relevance, groups = np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])
        self.label_windows_ = len(parts)
        self.label_rows_ = len(features)
        self.ranker_ = RankerBag(cfg.ranker, cfg.ranker_bags, cfg.seed).fit(features, relevance, groups)
        self._fit_stage(dataset, self.cutoff_)
        self.explainer_ = Explainer(self.ranker_)

    def refit(self, dataset: Dataset, cutoff: pd.Timestamp | str | None = None) -> HybridRecommender:
        """Refit the generators and the feature pipeline on (newer) data, keeping the trained ranker.

        Used after evaluation: the bundle that serves knows everything before ``cutoff`` (all data when
        ``None``) without training the ranker again.
        """
        self._check_fitted()
        history = self._remember(dataset, cutoff)
        self._fit_stage(history, self.cutoff_)
        self.explainer_ = Explainer(self.ranker_)
        return self

    def _fit_stage(self, dataset: Dataset, cutoff: pd.Timestamp) -> None:
        self.services_ = dataset.services.set_index(C.SERVICE).loc[dataset.service_ids.external].reset_index()
        repeat = self.config.repeat.model_dump()
        self.generators_: dict[str, Recommender] = {
            name: make_recommender(name, {"repeat": repeat, **params}).fit(dataset, cutoff)
            for name, params in self.config.generators.items()}
        profile = self.repeat_ if cutoff == self.cutoff_ else learn_repeat(dataset.until(cutoff), self.config.repeat)
        self.rules_ = ServiceRules(self.config.rules, self.services_, profile.no_repeat)
        self.pipeline_ = FeaturePipeline(self.feature_set_).fit(dataset, cutoff)

    def _training_rows(self, dataset: Dataset, label_start: pd.Timestamp, label_end: pd.Timestamp
                       ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        window = dataset.interactions[(dataset.interactions[C.TIMESTAMP] >= label_start)
                                      & (dataset.interactions[C.TIMESTAMP] < label_end)]
        labels = _labels(window)
        if labels.empty:
            raise NotEnoughHistoryError(
                f"no positive events between {label_start} and {label_end} to train the ranker on; "
                "use a longer history or a smaller label_weeks")
        residents = pd.unique(labels[C.RESIDENT])
        rng = np.random.default_rng(self.config.seed)
        if len(residents) > self.config.max_label_residents:
            residents = rng.choice(residents, self.config.max_label_residents, replace=False)
        internal = np.sort(self.resident_ids_.to_internal(residents))
        ids = self.resident_ids_.to_external(internal)
        shown = self._shown(window, ids) if self.config.shown_negatives else None
        features, rows, cols, _ = self._candidates(internal, ids, extra=shown)
        key = pd.Series(labels["relevance"].to_numpy(),
                        index=pd.MultiIndex.from_arrays([labels[C.RESIDENT], labels[C.SERVICE]]))
        service_ids = self.service_ids_.external.to_numpy()
        wanted = pd.MultiIndex.from_arrays([ids[rows], service_ids[cols]])
        relevance = key.reindex(wanted).fillna(0).to_numpy(dtype=np.int32)
        has_positive = pd.Series(relevance).groupby(rows).transform("max").to_numpy() > 0
        return features[has_positive].reset_index(drop=True), relevance[has_positive], rows[has_positive]

    def _shown(self, window: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
        """(residents × services) bool: services shown to each of ``ids`` in the label window."""
        shown = np.zeros((len(ids), len(self.service_ids_)), dtype=bool)
        impressions = window[window[C.EVENT].astype(str) == "impression"]
        rows = pd.Index(ids).get_indexer(impressions[C.RESIDENT].astype(str).to_numpy())
        cols = self.service_ids_.external.get_indexer(impressions[C.SERVICE].astype(str).to_numpy())
        keep = (rows >= 0) & (cols >= 0)
        shown[rows[keep], cols[keep]] = True
        return shown

    # ----- scoring --------------------------------------------------------------------------------------
    def _generator_scores(self, internal: np.ndarray, profile_rows: pd.DataFrame | None = None,
                          ids: np.ndarray | None = None) -> dict[str, np.ndarray]:
        scores: dict[str, np.ndarray] = {}
        known = internal >= 0
        for name, model in self.generators_.items():
            matrix = np.zeros((len(internal), len(self.service_ids_)), dtype=np.float64)
            if known.any():
                matrix[known] = model.score_matrix(internal[known])
            if (~known).any():
                if ids is None:
                    raise ValueError("scoring residents unknown to the model needs their ids")
                matrix[~known] = _cold_start_scores(model, profile_rows, ids[~known])
            scores[name] = matrix
        return scores

    def _candidates(self, internal: np.ndarray, ids: np.ndarray, profile_rows: pd.DataFrame | None = None,
                    cross_all: pd.DataFrame | None = None, extra: np.ndarray | None = None
                    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.DataFrame]:
        """Candidate feature rows (with their resident row and service column) and the resident table.

        Candidates are drawn only from the services the rules allow (eligible, offered, one-off not yet
        used), and each generator's rank and gap are measured among those: a slot taken by a permit the
        resident already holds is a slot lost to a service they could use. ``extra`` (residents × services,
        bool) adds allowed rows beyond the generators' candidates. ``cross_all`` (cross features of every
        pair, row-major) is computed when not given.
        """
        services = self.service_ids_.external.to_numpy()
        if cross_all is None:
            pairs = pd.DataFrame({C.RESIDENT: np.repeat(ids, len(services)), C.SERVICE: np.tile(services, len(ids))})
            cross_all = self.pipeline_.cross_features(pairs, profile_rows=profile_rows)
        allowed = self.rules_.allowed(cross_all, (len(ids), len(services)))
        scores = {name: np.where(allowed, matrix, -np.inf)
                  for name, matrix in self._generator_scores(internal, profile_rows, ids).items()}
        mask = candidate_mask(scores, self.config.candidates_per_generator) & allowed
        if extra is not None:
            mask |= extra & allowed
        resident = resident_table(self.pipeline_, ids, internal >= 0, profile_rows)
        features, rows, cols = candidate_rows(self.pipeline_, ids, services, mask, scores, resident, cross_all,
                                              profile_rows)
        return features, rows, cols, resident

    def _score(self, residents: np.ndarray) -> np.ndarray:
        ids = self.resident_ids_.to_external(residents)
        return self._ranked(self._candidates(residents, ids)[:3], len(ids))

    def _ranked(self, candidates: tuple[pd.DataFrame, np.ndarray, np.ndarray], n: int) -> np.ndarray:
        """Ranker scores as a (residents × services) matrix; −inf for non-candidates."""
        features, rows, cols = candidates
        scores = np.full((n, len(self.service_ids_)), -np.inf)
        if len(features):
            scores[rows, cols] = self.ranker_.predict(features)
        return scores

    # ----- public API -----------------------------------------------------------------------------------
    def recommend(self, resident_ids: pd.Series | np.ndarray | list[str], k: int = 10, *,
                  exclude_seen: bool = False, profile_rows: pd.DataFrame | None = None,
                  explain: bool = False, explain_factors: int | None = None) -> pd.DataFrame:
        """Ranked, rule-checked top-``k`` services per resident, optionally with explanations.

        Parameters
        ----------
        resident_ids : sequence of str
            External ids. Residents not in the dataset need a row in ``profile_rows`` (cold start).
        k : int
        exclude_seen : bool
            Also drop services the resident interacted with positively before.
        profile_rows : pandas.DataFrame, optional
            Raw residents-table rows of residents Linli has not seen.
        explain : bool
            Add ``explanation`` (English) and ``explanation_zh`` columns.
        explain_factors : int, optional
            With ``explain``, name the ranker's key factors (feature contributions: most of the cost of
            explaining) only for the services ``recommend(explain_factors)`` would list; the others get their
            checkable reasons only. ``None``: every service.

        Returns
        -------
        pandas.DataFrame
            ``resident_id, service_id, score, rank`` (+ explanations). ``score`` is the ranking score after
            the rules (see :meth:`ServiceRules.select`); lists are shorter than ``k`` only when fewer
            services qualify.
        """
        self._check_fitted()
        if k < 1:
            raise ValueError(f"k must be ≥ 1, got {k}")
        if explain_factors is not None and explain_factors < 1:
            raise ValueError(f"explain_factors must be ≥ 1 or None, got {explain_factors}")
        ids = np.asarray(resident_ids, dtype=object)
        internal = self.resident_ids_.to_internal(ids, strict=profile_rows is None)
        pairs = pd.DataFrame({C.RESIDENT: np.repeat(ids, len(self.service_ids_)),
                              C.SERVICE: np.tile(self.service_ids_.external.to_numpy(), len(ids))})
        cross = self.pipeline_.cross_features(pairs, profile_rows=profile_rows)  # every pair: the rules need them
        features, rows, cols, resident = self._candidates(internal, ids, profile_rows, cross)
        scores = self._ranked((features, rows, cols), len(ids))
        if exclude_seen:
            seen = self.history_[np.maximum(internal, 0)].toarray() > 0
            scores[seen & (internal >= 0)[:, None]] = -np.inf
        allowed = self.rules_.allowed(cross, scores.shape)
        rule_residents = resident[list(RULE_RESIDENT_FEATURES)]
        chosen, key = self.rules_.select(scores, allowed, rule_residents, cross, k)
        factors = None
        if explain and explain_factors is not None and explain_factors < k:
            first, _ = self.rules_.select(scores, allowed, rule_residents, cross, explain_factors)
            factors = (chosen[:, :, None] == first[:, None, :]).any(axis=2)
        return self._result(ids, key, chosen, features, rows, cols, explain, factors)

    def _result(self, ids: np.ndarray, scores: np.ndarray, chosen: np.ndarray, features: pd.DataFrame,
                rows: np.ndarray, cols: np.ndarray, explain: bool, factors: np.ndarray | None = None
                ) -> pd.DataFrame:
        """The recommendation table; ``factors`` (residents × positions, bool) limits the key factors."""
        res, pos = np.nonzero(chosen >= 0)
        svc = chosen[res, pos]
        out = pd.DataFrame({C.RESIDENT: ids[res], C.SERVICE: self.service_ids_.to_external(svc),
                            SCORE: scores[res, svc], RANK: pos + 1})
        if explain and len(out):
            lookup = pd.Series(np.arange(len(rows)), index=pd.MultiIndex.from_arrays([rows, cols]))
            picked = lookup.reindex(pd.MultiIndex.from_arrays([res, svc])).to_numpy()
            texts = self.explainer_.explain(features.iloc[picked].reset_index(drop=True), svc,
                                            None if factors is None else factors[res, pos])
            out["explanation"], out["explanation_zh"] = texts["en"].to_numpy(), texts["zh"].to_numpy()
        return out

    def part_params(self) -> dict[str, Any]:
        """Flat parameters of every fitted part (generators with their defaults, ranker), for tracking."""
        self._check_fitted()
        params: dict[str, Any] = {}
        for model in self.generators_.values():
            params.update({f"hybrid.{k}": v for k, v in model.get_params().items()})
        return params | {f"hybrid.{k}": v for k, v in self.ranker_.get_params().items()}


def _labels(window: pd.DataFrame) -> pd.DataFrame:
    event = window[C.EVENT].astype(str)
    relevance = event.map(_LABEL).fillna(0).to_numpy(dtype=np.int32)
    rating = window[C.RATING].to_numpy(dtype=float, na_value=np.nan)
    relevance = np.where(event.to_numpy() == "rate", np.where(rating >= 4, 3, np.where(rating <= 2, 0, 2)),
                         relevance)
    frame = pd.DataFrame({C.RESIDENT: window[C.RESIDENT].astype(str).to_numpy(),
                          C.SERVICE: window[C.SERVICE].astype(str).to_numpy(), "relevance": relevance})
    frame = frame[frame["relevance"] > 0]
    return frame.groupby([C.RESIDENT, C.SERVICE], as_index=False)["relevance"].max()


def _cold_start_scores(model: Recommender, profile_rows: pd.DataFrame | None, ids: np.ndarray) -> np.ndarray:
    """Scores for residents the model never saw: its cold-start path if it has one, else popularity order."""
    scorer = getattr(model, "score_profiles", None)
    if scorer is not None and profile_rows is not None:
        rows = profile_rows.set_index(C.RESIDENT).loc[ids].reset_index()
        return np.asarray(scorer(rows), dtype=np.float64)
    popularity = np.asarray(model.history_.sum(axis=0)).ravel()
    return np.tile(popularity / max(popularity.max(), 1e-9), (len(ids), 1))


__all__ = ["HybridConfig", "HybridRecommender"]
