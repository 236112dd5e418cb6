"""How much of each persona's ceiling is personal taste: ranking by latent type alone, against the ceiling.

The synthetic generator's true score of a service (:mod:`features.sources.synthetic.preferences`) is what the
resident's latent types want from its category, plus hidden hobby categories and taste factors that only the
resident's own behaviour reveals, plus the service's quality. :class:`TypeOracleRanking` ranks by the first
and last of these only — it knows every resident's latent types exactly (no model does) and each service's
quality as the mean over residents, but nothing personal — under the same eligibility and one-off rules as
:class:`experiments.true_preference_ranking.TruePreferenceRanking`.

Its NDCG@10 over the ceiling's, per persona, says how much of what the data permits a persona model could
reach without learning the individual: where it is low, the persona's ceiling rests on personal taste that
must be learned from each resident's history. Run ``python -m experiments.persona_headroom --seeds 42,1,2,3``
(the communities of ``linli bench train``; no model is fitted, so it takes a minute per community).
The true types are those of the default persona definitions: the affinities are keyed by them.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import pandas as pd

from experiments.true_preference_ranking import TruePreferenceRanking
from features.columns import Columns as C
from features.columns import Vocab
from features.dataset import Dataset
from features.sources.synthetic import SyntheticCommunity, generate_community
from features.sources.synthetic.population import TYPES
from features.sources.synthetic.preferences import affinity_matrix
from recommenders.hybrid import HybridRecommender
from recommenders.hybrid_config import HybridConfig
from training.config import TrainConfig
from training.evaluation import EvaluationWindow
from training.metrics import NDCG, per_resident_metrics
from training.splits import TimeSplit, time_split


class TypeOracleRanking(TruePreferenceRanking):
    """Top-k by latent type affinity of the service's category plus the service's mean residual score.

    Services the ceiling may not rank (not eligible, not offered, one-off and held) are not ranked either.

    Parameters
    ----------
    community : SyntheticCommunity
        The generated community (its ``truth`` holds the latent types and the true scores).
    cutoff : pandas.Timestamp
        Start of the evaluated window.
    """

    name = "type_oracle"

    def __init__(self, community: SyntheticCommunity, cutoff: pd.Timestamp) -> None:
        super().__init__(community, cutoff)
        truth = community.truth
        types = np.zeros((len(truth), len(TYPES)), dtype=bool)
        for row, (latent, primary) in enumerate(zip(truth["latent_types"], truth["primary_type"], strict=True)):
            for name in [*str(latent).split(";"), str(primary)]:
                if name in TYPES:
                    types[row, TYPES.index(name)] = True
        affinity = affinity_matrix()
        by_category = np.max(np.where(types[:, :, None], affinity[None, :, :], 0.0), axis=1)
        codes = pd.Index(Vocab.SERVICE_CATEGORIES).get_indexer(community.frames["services"][C.CATEGORY].astype(str))
        type_part = by_category[:, codes]
        true = np.stack(truth["true_scores"].to_numpy()).astype(np.float64)
        allowed = np.isfinite(true)
        with np.errstate(invalid="ignore"):
            quality = np.nanmean(np.where(allowed, true - type_part, np.nan), axis=0)
        self.scores_ = np.where(np.isfinite(self.scores_), type_part + np.nan_to_num(quality)[None, :], -np.inf)


def persona_ratios(window: EvaluationWindow, lists: pd.DataFrame, ceiling: pd.DataFrame) -> dict[str, float]:
    """Per persona, mean NDCG@k of ``lists`` over the ceiling's on the same residents (personas with none left out)."""
    model = per_resident_metrics(lists, window.truth, window.k)[NDCG]
    best = per_resident_metrics(ceiling, window.truth, window.k)[NDCG].reindex(model.index)
    tags = window.personas.reindex(model.index).fillna(False).astype(bool)
    return {str(p): round(float(model[tags[p]].mean() / best[tags[p]].mean()), 4)
            for p in tags.columns if tags[p].any() and best[tags[p]].mean() > 0}


def hybrid_ratios(dataset: Dataset, split: TimeSplit, window: EvaluationWindow, ceiling: pd.DataFrame,
                  config: TrainConfig, overrides: dict[str, Any]) -> dict[str, Any]:
    """The hybrid of ``config`` with ``overrides`` laid over its ``[hybrid]`` table, fitted on the training part:
    its NDCG@k and, per persona, its NDCG@k over the ceiling's (the bench's persona floor on one community)."""
    hybrid = HybridConfig.model_validate({**config.hybrid.model_dump(), **overrides})
    lists = HybridRecommender(hybrid).fit(dataset, split.train_until).recommend(window.residents, window.k)
    ndcg = float(window.score_lists(lists)[f"{NDCG}@{window.k}"])
    return {"ndcg": round(ndcg, 4), "over_ceiling": persona_ratios(window, lists, ceiling)}


def run(seeds: list[int], residents: int = 20_000, hybrid: dict[str, Any] | None = None) -> dict[str, Any]:
    """Type oracle over ceiling per persona on each seed's community (the bench's test window), and the mean.

    With ``hybrid`` (settings over the default ``[hybrid]`` table, e.g. ``{"label_windows": 2}``), the hybrid so
    configured is also fitted on each community and its per-persona ratio to the ceiling reported under
    ``hybrid`` (slow: one full fit per community).
    """
    per_seed: dict[int, dict[str, float]] = {}
    fitted: dict[str, dict[str, Any]] = {}
    for seed in seeds:
        config = TrainConfig().with_seed(seed)
        community = generate_community(residents=residents, seed=seed)
        dataset = community.dataset()
        split = time_split(dataset, test_weeks=config.test_weeks, validation_weeks=0)
        window = EvaluationWindow.build(dataset, split, config.k, seed)
        ceiling = TruePreferenceRanking(community, split.test_start).recommend(window.residents, window.k)
        oracle = TypeOracleRanking(community, split.test_start).recommend(window.residents, window.k)
        per_seed[seed] = persona_ratios(window, oracle, ceiling)
        if hybrid is not None:
            fitted[str(seed)] = hybrid_ratios(dataset, split, window, ceiling, config, hybrid)
    personas = list(dict.fromkeys(p for ratios in per_seed.values() for p in ratios))
    mean = {p: round(float(np.mean([r[p] for r in per_seed.values() if p in r])), 4) for p in personas}
    out: dict[str, Any] = {"residents": residents, "seeds": seeds, "type_oracle_over_ceiling_mean": mean,
                           "per_seed": {str(s): r for s, r in per_seed.items()}}
    if hybrid is not None:
        out["hybrid"] = {"settings": hybrid, "per_seed": fitted}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="42,1,2,3")
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--hybrid", type=json.loads, default=None,
                        help='also fit the hybrid with these [hybrid] settings as JSON, e.g. \'{"label_windows": 2}\'')
    args = parser.parse_args(argv)
    print(json.dumps(run([int(s) for s in args.seeds.split(",")], args.residents, args.hybrid), indent=2))


if __name__ == "__main__":
    main()
