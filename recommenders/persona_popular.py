"""Popularity within each rule persona, blended with global popularity; serves cold-start residents.

Each resident carries the transparent persona tags of :class:`profiling.PersonaRules`, computed from the
:class:`features.pipeline.FeaturePipeline` resident features at the cutoff. A persona's distribution is
the (event-weighted, optionally recency-decayed) share of its residents' interest in each service. A
resident's score is the average of their personas' distributions (multi-label), blended with the global
distribution; a resident with no persona gets the global distribution. Residents the dataset has never
seen are served from their profile alone (:meth:`PersonaPopularRecommender.recommend_for_profiles`).

New services (no positive interaction before the cutoff) get a content prior: within each persona (and
globally) a new service is worth ``new_service_prior`` × the average weight of the established services of
its category, so a new elderly-care service ranks with the elderly-care services for the elderly persona
and low for students. Distributions are normalised after the prior is added.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import Field

from features.columns import Columns as C
from features.columns import Vocab
from features.dataset import Dataset
from features.pipeline import FeaturePipeline
from profiling.config import PersonaRulesConfig, load_config
from profiling.features import profiling_feature_set
from profiling.rules import PersonaRules
from recommenders.base import Recommender, RecommenderConfig, top_k_frame
from recommenders.popular import decayed_history


class PersonaPopularConfig(RecommenderConfig):
    """Configuration of :class:`PersonaPopularRecommender`.

    Attributes
    ----------
    global_weight : float
        Share of the global distribution in a persona resident's score (0 = persona only).
    half_life_days : float or None
        Recency decay of events (``None``: no decay).
    new_service_prior : float
        Multiplier of the category-average prior given to services without interactions (0 disables).
    profiling_config : str or None
        Path of a profiling TOML with the persona thresholds; ``None`` uses the shipped ``personas.toml``.
    """

    global_weight: float = Field(0.1, ge=0.0, le=1.0)
    half_life_days: float | None = Field(None, gt=0)
    new_service_prior: float = Field(1.0, ge=0.0)
    profiling_config: str | None = None


class PersonaPopularRecommender(Recommender):
    """What residents of the same persona(s) use most, blended with what everyone uses.

    Learned state: ``persona_tags_`` (residents × personas, bool, columns ``Vocab.PERSONAS``),
    ``persona_popularity_`` (personas × services, rows sum to 1), ``popularity_`` (services),
    ``pipeline_`` (the fitted feature pipeline) and ``rules_`` (the persona tagger).

    Examples
    --------
    >>> model = PersonaPopularRecommender().fit(dataset, cutoff="2026-10-04")  # doctest: +SKIP
    >>> model.recommend_for_profiles(new_residents, k=5)  # doctest: +SKIP
    """

    name = "persona_popular"
    config_class = PersonaPopularConfig
    config: PersonaPopularConfig

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        self.personas_: tuple[str, ...] = tuple(Vocab.PERSONAS)
        self.rules_ = PersonaRules(_persona_rules(cfg.profiling_config))
        self.pipeline_ = FeaturePipeline(profiling_feature_set()).fit(dataset, self.cutoff_)
        features = self.pipeline_.resident_features(self.resident_ids_.external)
        self.persona_tags_: np.ndarray = self.rules_.tag(features).tags[list(self.personas_)].to_numpy(dtype=bool)

        matrix = decayed_history(self, dataset)
        persona_weight = (sp.csr_matrix(self.persona_tags_.T.astype(np.float64)) @ matrix).toarray()
        everyone = np.asarray(matrix.sum(axis=0), dtype=np.float64)
        weights = np.vstack([persona_weight, everyone])
        self.new_services_: np.ndarray = everyone.ravel() <= 0
        category = _service_categories(dataset)
        distributions = _normalise(_with_category_prior(weights, category, self.new_services_,
                                                        cfg.new_service_prior))
        self.persona_popularity_: np.ndarray = distributions[:-1]
        self.popularity_: np.ndarray = distributions[-1]

    def _score(self, residents: np.ndarray) -> np.ndarray:
        return self._blend(self.persona_tags_[residents])

    def _blend(self, tags: np.ndarray) -> np.ndarray:
        """Scores from persona tags (n × personas): mean persona distribution blended with global."""
        counts = tags.sum(axis=1, keepdims=True)
        mean = (tags.astype(np.float64) @ self.persona_popularity_) / np.maximum(counts, 1)
        w = self.config.global_weight
        blended = (1.0 - w) * mean + w * self.popularity_[None, :]
        return np.where(counts > 0, blended, self.popularity_[None, :])

    # ----- cold start -----------------------------------------------------------------------------------
    def profile_personas(self, profile_rows: pd.DataFrame) -> pd.DataFrame:
        """Persona tags (bool, residents × personas) of residents given as raw residents-table rows.

        Raises
        ------
        features.DataValidationError
            If a row breaks the residents contract.
        """
        self._check_fitted()
        features = self.pipeline_.transform_resident_profile(profile_rows)
        return self.rules_.tag(features).tags[list(self.personas_)]

    def score_profiles(self, profile_rows: pd.DataFrame) -> np.ndarray:
        """Scores (rows × services, service id-map order) of residents known only by their profile."""
        return self._blend(self.profile_personas(profile_rows).to_numpy(dtype=bool))

    def recommend_for_profiles(self, profile_rows: pd.DataFrame, k: int = 10) -> pd.DataFrame:
        """Top-``k`` services for residents not in the dataset, from their persona(s) alone.

        Parameters
        ----------
        profile_rows : pandas.DataFrame
            Raw residents-table rows (``resident_id``, ``community_id``, ``birth_year``, …); optional
            fields may be missing. The community need not be known.
        k : int
            List length.

        Returns
        -------
        pandas.DataFrame
            ``resident_id, service_id, score, rank``, in the order of ``profile_rows``.
        """
        if k < 1:
            raise ValueError(f"k must be ≥ 1, got {k}")
        scores = self.score_profiles(profile_rows)
        ids = profile_rows[C.RESIDENT].to_numpy(dtype=object)
        return top_k_frame(ids, scores, self.service_ids_, k)


def _persona_rules(path: str | None) -> PersonaRulesConfig:
    return load_config(Path(path) if path is not None else None).personas


def _service_categories(dataset: Dataset) -> np.ndarray:
    """Category code of every service, in service id-map order."""
    services = dataset.services
    order = dataset.service_ids.to_internal(services[C.SERVICE])
    codes = np.empty(len(services), dtype=np.int64)
    codes[order] = pd.Categorical(services[C.CATEGORY].astype(object),
                                  categories=list(Vocab.SERVICE_CATEGORIES)).codes
    codes[codes < 0] = len(Vocab.SERVICE_CATEGORIES)  # unknown category: a group of its own
    return codes


def _with_category_prior(weights: np.ndarray, category: np.ndarray, new: np.ndarray, strength: float
                         ) -> np.ndarray:
    """Give new services ``strength`` × the mean weight of their category's established services, per row."""
    out = weights.copy()
    if not new.any() or strength <= 0:
        return out
    established = ~new
    n_categories = int(category.max()) + 1
    sums = np.zeros((len(weights), n_categories))
    np.add.at(sums.T, category[established], weights[:, established].T)
    counts = np.bincount(category[established], minlength=n_categories)
    mean = np.divide(sums, counts[None, :], out=np.zeros_like(sums), where=counts[None, :] > 0)
    out[:, new] = strength * mean[:, category[new]]
    return out


def _normalise(weights: np.ndarray) -> np.ndarray:
    totals = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
