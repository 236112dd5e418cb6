"""The persona floor over several communities: worst / best persona NDCG@10, and each persona against its ceiling.

On one community the worst / best persona ratio moves by more than the differences being judged (which test
residents land in the window is chance), so ``linli bench train --seeds 42,1,2,3`` reports two figures over
several generated communities:

* ``worst_over_best_mean``: the mean over communities of (worst persona's NDCG@10) / (best persona's);
* ``persona_over_ceiling_mean``: for every persona, its NDCG@10 divided by the same persona's NDCG@10 when each
  resident's services are ranked by the generator's true preferences
  (:class:`experiments.true_preference_ranking.TruePreferenceRanking`: what the data permits), averaged over the
  communities.

Intervals are a seeded bootstrap **over test residents**, drawn independently within each community; replicate
``b`` of the mean is the mean of the communities' replicates ``b``. Over residents rather than over communities:
with four communities a community bootstrap has 35 distinct resamples and says little, while the noise the
target is about is which residents happen to be scored. The between-community spread is reported beside it
(every community's own ratio), so both sources of variation are visible. The interval is Efron's bias-corrected
percentile interval: the worst / best of noisy means is biased low under resampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from training.metrics import NDCG, per_resident_metrics

#: Bootstrap replicates per community.
REPLICATES = 1000
#: Two-sided coverage of the reported intervals.
LEVEL = 0.95
_CHUNK = 100


def worst_over_best_persona(per_persona: dict[str, float]) -> float:
    """NDCG of the worst persona over the best one's (personas without test residents, NaN, are left out)."""
    scored = [float(v) for v in per_persona.values() if v == v]
    return min(scored) / max(scored)


@dataclass(frozen=True)
class PersonaScores:
    """Per-resident NDCG@k of a model and of the true-preference ceiling on one test window, with persona tags.

    Attributes
    ----------
    model, ceiling : numpy.ndarray
        NDCG@k of every evaluated resident (a resident with a relevant service in the window), same order.
    members : numpy.ndarray
        Boolean ``(residents, personas)``: who carries which persona (a resident may carry several or none).
    personas : list of str
        Column names of ``members``.
    """

    model: np.ndarray
    ceiling: np.ndarray
    members: np.ndarray
    personas: list[str]

    @classmethod
    def from_lists(cls, model_lists: pd.DataFrame, ceiling_lists: pd.DataFrame, truth: pd.DataFrame,
                   personas: pd.DataFrame, k: int = 10) -> PersonaScores:
        """Score two recommendation tables on one window (``truth`` and boolean ``personas`` indexed by resident,
        as :class:`training.evaluation.EvaluationWindow` holds them)."""
        model = per_resident_metrics(model_lists, truth, k)[NDCG]
        ceiling = per_resident_metrics(ceiling_lists, truth, k)[NDCG].reindex(model.index)
        tags = personas.reindex(model.index).fillna(False).astype(bool)
        return cls(model=model.to_numpy(dtype=np.float64), ceiling=ceiling.to_numpy(dtype=np.float64),
                   members=tags.to_numpy(dtype=bool), personas=[str(p) for p in tags.columns])


def community_floor(scores: PersonaScores, seed: int, replicates: int = REPLICATES) -> dict[str, Any]:
    """Point figures of one community and their bootstrap replicates over its residents.

    Returns
    -------
    dict
        ``per_persona_ndcg@10`` and ``ceiling_per_persona_ndcg@10`` (persona → mean), ``worst_over_best``,
        ``persona_over_ceiling`` (persona → ratio), and ``replicates``: ``worst_over_best`` (list) and
        ``persona_over_ceiling`` (persona → list), ``replicates`` long, seeded by ``seed``.
    """
    weights = np.ones((1, len(scores.model)))
    model, ceiling = _persona_means(weights, scores)
    ratio_model, ratio_ceiling = model[0], ceiling[0]
    kept = ~np.isnan(ratio_model)
    rng = np.random.default_rng(seed)
    floors, over = [], []
    for start in range(0, replicates, _CHUNK):
        counts = _resample_counts(rng, len(scores.model), min(_CHUNK, replicates - start))
        m, c = _persona_means(counts, scores)
        floors.append(_worst_over_best(m[:, kept]))
        over.append(_ratio(m, c))
    boot_over = np.vstack(over)
    return {
        "per_persona_ndcg@10": _named(scores.personas, ratio_model, kept),
        "ceiling_per_persona_ndcg@10": _named(scores.personas, ratio_ceiling, kept),
        "worst_over_best": float(_worst_over_best(model[:, kept])[0]),
        "persona_over_ceiling": _named(scores.personas, _ratio(model, ceiling)[0], kept),
        "replicates": {"worst_over_best": np.concatenate(floors).tolist(),
                       "persona_over_ceiling": {p: boot_over[:, j].tolist()
                                                for j, p in enumerate(scores.personas) if kept[j]}},
    }


def summarise(communities: list[dict[str, Any]], level: float = LEVEL) -> dict[str, Any]:
    """The figures over communities (each a :func:`community_floor` result, replicates included).

    Returns
    -------
    dict
        ``worst_over_best_mean``, ``worst_over_best_interval`` ([low, high]), ``worst_over_best_per_community``,
        ``persona_over_ceiling_mean`` and ``persona_over_ceiling_interval`` (persona → …; a persona counts in the
        communities where it has test residents), ``communities`` and ``interval`` (how it was drawn).

    Raises
    ------
    ValueError
        If ``communities`` is empty or their replicate counts differ.
    """
    if not communities:
        raise ValueError("summarise needs at least one community")
    floors = np.array([c["replicates"]["worst_over_best"] for c in communities], dtype=np.float64)
    floor = float(np.mean([c["worst_over_best"] for c in communities]))
    personas = list(dict.fromkeys(p for c in communities for p in c["persona_over_ceiling"]))
    means: dict[str, float] = {}
    intervals: dict[str, list[float]] = {}
    for persona in personas:
        having = [c for c in communities if persona in c["persona_over_ceiling"]]
        mean = float(np.mean([c["persona_over_ceiling"][persona] for c in having]))
        boot = np.nanmean(np.array([c["replicates"]["persona_over_ceiling"][persona] for c in having]), axis=0)
        means[persona], intervals[persona] = round(mean, 4), _interval(boot, mean, level)
    return {
        "communities": len(communities),
        "worst_over_best_mean": round(floor, 4),
        "worst_over_best_interval": _interval(np.nanmean(floors, axis=0), floor, level),
        "worst_over_best_per_community": [round(c["worst_over_best"], 4) for c in communities],
        "persona_over_ceiling_mean": means,
        "persona_over_ceiling_interval": intervals,
        "interval": f"{level:.0%} bias-corrected percentile bootstrap over test residents, {floors.shape[1]} "
                    "replicates drawn within each community (seeded by its seed), averaged over the communities",
    }


def strip_replicates(community: dict[str, Any]) -> dict[str, Any]:
    """The community's figures without its bootstrap replicates (for printing)."""
    return {k: v for k, v in community.items() if k != "replicates"}


def _resample_counts(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """``(size, n)`` counts of each resident in ``size`` resamples of ``n`` with replacement."""
    draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)


def _persona_means(weights: np.ndarray, scores: PersonaScores) -> tuple[np.ndarray, np.ndarray]:
    members = scores.members.astype(np.float64)
    count = weights @ members
    with np.errstate(invalid="ignore", divide="ignore"):
        model = (weights @ (members * scores.model[:, None])) / count
        ceiling = (weights @ (members * scores.ceiling[:, None])) / count
    return model, ceiling


def _worst_over_best(means: np.ndarray) -> np.ndarray:
    """Per row, the lowest over the highest of the finite persona means (NaN for a row without any)."""
    finite = np.isfinite(means)
    low = np.where(finite, means, np.inf).min(axis=1)
    high = np.where(finite, means, -np.inf).max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite.any(axis=1), low / high, np.nan)


def _ratio(model: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ceiling > 0, model / ceiling, np.nan)


def _named(personas: list[str], values: np.ndarray, kept: np.ndarray) -> dict[str, float]:
    return {p: round(float(v), 4) for p, v, keep in zip(personas, values, kept, strict=True) if keep}


def _interval(replicates: np.ndarray, point: float, level: float) -> list[float]:
    """Bias-corrected percentile interval (Efron's BC): a ratio of the worst to the best of noisy means is biased
    low under resampling, so the plain percentile interval can miss the point figure; BC re-centres it there."""
    boot = replicates[np.isfinite(replicates)]
    below = (np.sum(boot < point) + 0.5 * np.sum(boot == point)) / len(boot)
    z0 = NormalDist().inv_cdf(min(max(below, 0.5 / len(boot)), 1 - 0.5 / len(boot)))
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    low, high = np.percentile(boot, [NormalDist().cdf(2 * z0 - z) * 100, NormalDist().cdf(2 * z0 + z) * 100])
    return [round(float(low), 4), round(float(high), 4)]


__all__ = ["LEVEL", "REPLICATES", "PersonaScores", "community_floor", "strip_replicates", "summarise",
           "worst_over_best_persona"]
