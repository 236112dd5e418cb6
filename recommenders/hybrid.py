"""The one hybrid recommender: candidate generators → LightGBM LambdaRank → rules → explained top-k.

It is built from explicit parts, each configuration (:class:`HybridConfig`):

* **candidate generators** (``generators``; registered recommenders, time-aware popularity among them): each
  proposes its top ``candidates_per_generator`` services the rules allow;
* **a label strategy** (``labels``, :mod:`recommenders.label_strategies`): :class:`TimeWindowLabels` (the
  last weeks before the cut-off) or :class:`StratifiedFoldLabels` (held-out folds of a randomly split history);
* **a feature collector**: the generators' statistics per candidate (``generator_features``, optionally
  ``n_generators`` and monotone constraints) plus the registered feature families of ``feature_set``;
* **the ranker bag** (``ranker``, ``ranker_bags``, ``bag_combination``: mean score or rank share);
* **the rules** (``rules``).

``fit(dataset, cutoff)`` trains in two stages on the history before ``cutoff``: for every label stage the
generators and the feature pipeline are fitted on the stage's history and the ranker's rows are their candidates
for the labelled residents, labelled by the stage; then the generators and the feature pipeline are refitted on
the whole history, so serving uses everything known at ``cutoff``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.dataset import Dataset
from features.feature_registry import FeatureSet
from features.pipeline import FeaturePipeline
from recommenders.base import RANK, SCORE, Recommender, _flatten
from recommenders.candidates import MONOTONE_DIRECTION, candidate_mask, candidate_rows, generator_scores, resident_table
from recommenders.errors import NotEnoughHistoryError
from recommenders.explanations import Explainer
from recommenders.hybrid_config import HybridConfig, feature_set_path, with_rule_features
from recommenders.label_strategies import LabelStage, TimeWindowLabels, TrainingRows, label_stages, shown_matrix
from recommenders.ranker import RankerConfig
from recommenders.ranker_bag import RankerBag
from recommenders.registry import make_recommender
from recommenders.repeat import learn_repeat
from recommenders.rules import RULE_RESIDENT_FEATURES, ServiceRules

#: Residents × services cells scored at once (training rows and score matrices are built in blocks).
_BLOCK_CELLS = 1_000_000


class HybridRecommender(Recommender):
    """Candidates from several generators, ranked by a LambdaRank bag, filtered and diversified by rules."""

    name = "hybrid"
    config_class = HybridConfig
    config: HybridConfig

    def get_params(self) -> dict[str, Any]:
        """Flat hyper-parameters (lists joined by commas), ready for ``mlflow.log_params``."""
        flat = _flatten(self.config.model_dump(), f"{self.name}.")
        return {k: ",".join(map(str, v)) if isinstance(v, list | tuple) else v for k, v in flat.items()}

    # ----- training -------------------------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> None:
        self.fit_ranker(self._label_rows(dataset), dataset)

    def training_rows(self, dataset: Dataset, cutoff: pd.Timestamp | str | None = None) -> TrainingRows:
        """The ranker's labelled candidate rows from every label stage of the history before ``cutoff``.

        Fits the generators and the feature pipeline on each stage's history on the way; :meth:`fit` is this
        followed by :meth:`fit_ranker`. Experiments call the two apart to train several rankers on the same rows.

        Raises
        ------
        NotEnoughHistoryError
            If a required stage has no labels, or no labelled service is among the candidates.
        """
        return self._label_rows(self._remember(dataset, cutoff))

    def _label_rows(self, dataset: Dataset) -> TrainingRows:
        cfg = self.config
        base = FeatureSet.from_toml(feature_set_path(cfg.feature_set)) if cfg.feature_set else FeatureSet.default()
        self.feature_set_ = with_rule_features(base)
        parts: list[tuple[pd.DataFrame, np.ndarray, np.ndarray]] = []
        labelled = found = 0
        for stage in label_stages(cfg.labels, dataset, self.cutoff_, cfg.seed):
            if stage.labels.empty:
                if stage.required:
                    raise NotEnoughHistoryError(
                        f"no positive events {stage.description} to train the ranker on; "
                        "use a longer history or a smaller label_weeks")
                continue
            self._fit_stage(stage.history, stage.cutoff, final=False)
            features, relevance, rows, n_labels = self._training_rows(stage)
            labelled, found = labelled + n_labels, found + int((relevance > 0).sum())
            keep = pd.Series(relevance).groupby(rows).transform("max").to_numpy() > 0
            offset = parts[-1][2].max() + 1 if parts else 0  # each stage's residents are groups of their own
            parts.append((features[keep].reset_index(drop=True), relevance[keep], rows[keep] + offset))
        groups = sum(len(np.unique(p[2])) for p in parts)
        if groups < 2:  # the ranker holds residents out for early stopping: it needs two at least
            raise NotEnoughHistoryError(f"{groups} labelled resident(s) have a labelled service among the "
                                        "candidates, the ranker needs 2 or more; use more data or candidates")
        return TrainingRows(pd.concat([p[0] for p in parts], ignore_index=True),
                            np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]),
                            len(parts), found / max(labelled, 1))

    def fit_ranker(self, rows: TrainingRows, dataset: Dataset) -> HybridRecommender:
        """Train the ranker bag on ``rows`` (:meth:`training_rows`), then fit the generators and the feature
        pipeline on ``dataset`` up to the model's cut-off, as serving uses them."""
        cfg = self.config
        self.label_stages_, self.label_rows_, self.candidate_recall_ = rows.stages, len(rows.features), rows.recall
        self.ranker_ = RankerBag(self._ranker_config(), cfg.ranker_bags, cfg.seed,
                                 cfg.bag_combination).fit(rows.features, rows.relevance, rows.groups)
        self._fit_stage(dataset.until(self.cutoff_), self.cutoff_, final=True)
        self.explainer_ = Explainer(self.ranker_)
        self.is_fitted_ = True
        return self

    @property
    def label_windows_(self) -> int:
        """Label stages the ranker was trained on (time windows or folds)."""
        return self.label_stages_

    def _ranker_config(self) -> RankerConfig:
        cfg = self.config
        if not cfg.monotone_generators:
            return cfg.ranker
        monotone = {f"{name}_{stat}": MONOTONE_DIRECTION[stat] for name in cfg.generators
                    for stat in cfg.generator_features}
        return cfg.ranker.model_copy(update={"monotone": {**monotone, **cfg.ranker.monotone}})

    def refit(self, dataset: Dataset, cutoff: pd.Timestamp | str | None = None) -> HybridRecommender:
        """Refit the generators and the feature pipeline on (newer) data, keeping the trained ranker.

        Used after evaluation: the bundle that serves knows everything before ``cutoff`` (all data when
        ``None``) without training the ranker again.
        """
        self._check_fitted()
        history = self._remember(dataset, cutoff)
        self._fit_stage(history, self.cutoff_, final=True)
        self.explainer_ = Explainer(self.ranker_)
        return self

    def _fit_stage(self, dataset: Dataset, cutoff: pd.Timestamp, *, final: bool) -> None:
        self.services_ = dataset.services.set_index(C.SERVICE).loc[dataset.service_ids.external].reset_index()
        repeat = self.config.repeat.model_dump()
        self.generators_: dict[str, Recommender] = {
            name: make_recommender(name, {"repeat": repeat, **params}).fit(dataset, cutoff)
            for name, params in self.config.generators.items()}
        profile = self.repeat_ if final else learn_repeat(dataset.until(cutoff), self.config.repeat)
        self.rules_ = ServiceRules(self.config.rules, self.services_, profile.no_repeat)
        self.pipeline_ = FeaturePipeline(self.feature_set_).fit(dataset, cutoff)

    def _training_rows(self, stage: LabelStage) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
        """Candidate rows of the stage's labelled residents, their relevance and resident row, and the number of
        labels those residents have (to measure candidate recall)."""
        labels, strategy = stage.labels, self.config.labels
        residents = pd.unique(labels[C.RESIDENT])
        if isinstance(strategy, TimeWindowLabels) and len(residents) > strategy.max_label_residents:
            rng = np.random.default_rng(self.config.seed)
            residents = rng.choice(residents, strategy.max_label_residents, replace=False)
        internal = np.sort(self.resident_ids_.to_internal(residents))
        ids = self.resident_ids_.to_external(internal)
        shown = None
        if stage.window is not None and isinstance(strategy, TimeWindowLabels) and strategy.shown_negatives:
            shown = shown_matrix(stage.window, ids, self.service_ids_.external)
        features, rows, cols = self._candidate_blocks(internal, ids, shown)
        key = pd.Series(labels["relevance"].to_numpy(),
                        index=pd.MultiIndex.from_arrays([labels[C.RESIDENT], labels[C.SERVICE]]))
        service_ids = self.service_ids_.external.to_numpy()
        wanted = pd.MultiIndex.from_arrays([ids[rows], service_ids[cols]])
        relevance = key.reindex(wanted).fillna(0).to_numpy(dtype=np.int32)
        return features, relevance, rows, int(labels[C.RESIDENT].isin(ids).sum())

    # ----- scoring --------------------------------------------------------------------------------------
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
        generated = generator_scores(self.generators_, internal, ids, len(services), profile_rows)
        scores = {name: np.where(allowed, matrix, -np.inf) for name, matrix in generated.items()}
        mask = candidate_mask(scores, self.config.candidates_per_generator) & allowed
        if extra is not None:
            mask |= extra & allowed
        resident = resident_table(self.pipeline_, ids, internal >= 0, profile_rows)
        cfg = self.config
        features, rows, cols = candidate_rows(
            self.pipeline_, ids, services, mask, scores, resident, cross_all, profile_rows, cfg.generator_features,
            cfg.candidates_per_generator if cfg.count_generators else None)
        return features, rows, cols, resident

    def _candidate_blocks(self, internal: np.ndarray, ids: np.ndarray, extra: np.ndarray | None = None
                          ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """:meth:`_candidates` of known residents in blocks of about :data:`_BLOCK_CELLS` pairs (same rows, less
        memory), rows numbered over all of ``ids``."""
        step = max(1, _BLOCK_CELLS // max(len(self.service_ids_), 1))
        blocks = []
        for start in range(0, len(ids), step):
            part = slice(start, start + step)
            features, rows, cols, _ = self._candidates(internal[part], ids[part],
                                                       extra=None if extra is None else extra[part])
            blocks.append((features, rows + start, cols))
        if len(blocks) == 1:
            return blocks[0]
        return (pd.concat([b[0] for b in blocks], ignore_index=True), np.concatenate([b[1] for b in blocks]),
                np.concatenate([b[2] for b in blocks]))

    def _score(self, residents: np.ndarray) -> np.ndarray:
        ids = self.resident_ids_.to_external(residents)
        return self._ranked(self._candidate_blocks(residents, ids), len(ids))

    def _ranked(self, candidates: tuple[pd.DataFrame, np.ndarray, np.ndarray], n: int) -> np.ndarray:
        """Ranker scores as a (residents × services) matrix; −inf for non-candidates."""
        features, rows, cols = candidates
        scores = np.full((n, len(self.service_ids_)), -np.inf)
        if len(features):
            scores[rows, cols] = self.ranker_.score(features, rows)
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



__all__ = ["HybridConfig", "HybridRecommender", "TrainingRows"]
