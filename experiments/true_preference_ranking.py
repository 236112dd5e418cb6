"""The ceiling of a synthetic benchmark: rank every resident's services by the generator's hidden true scores.

No recommender can know these scores; ranking by them (among the services the resident is eligible for, that are
offered where they live and that are not one-off services they already booked or used — what Linli's rules allow)
is the best any model could do in expectation. :mod:`experiments.train_bench` scores it on the same held-out
window as the models, so a target such as "worst persona ≥ 0.8 × best persona" can be read against what the data
itself permits: residents whose needs are met by one-off services (permits) leave fewer predictable repeats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.sources.synthetic import SyntheticCommunity

#: Events after which a one-off service is held (Linli's rules drop it from the resident's lists).
HELD_EVENTS = ("book", "use", "rate")


class TruePreferenceRanking:
    """Top-k by true score, given what was known before ``cutoff`` (held one-off services are dropped).

    Parameters
    ----------
    community : SyntheticCommunity
        The generated community (its ``truth`` holds the true scores).
    cutoff : pandas.Timestamp
        Start of the evaluated window; one-off services booked or used before it are not ranked.
    """

    name = "true_preferences"

    def __init__(self, community: SyntheticCommunity, cutoff: pd.Timestamp) -> None:
        services = community.frames["services"]
        self.service_ids_ = services[C.SERVICE].astype(str).to_numpy()
        truth = community.truth
        self.resident_index_ = pd.Index(truth[C.RESIDENT].astype(str))
        scores = np.stack(truth["true_scores"].to_numpy()).astype(np.float64)
        self.scores_ = np.where(np.isfinite(scores), scores, -np.inf)
        events = community.frames["interactions"]
        one_off = set(services.loc[services[C.ONE_OFF].fillna(False).astype(bool), C.SERVICE].astype(str))
        held = events[(events[C.TIMESTAMP] < cutoff) & events[C.EVENT].astype(str).isin(HELD_EVENTS)
                      & events[C.SERVICE].astype(str).isin(one_off)]
        rows = self.resident_index_.get_indexer(held[C.RESIDENT].astype(str))
        cols = pd.Index(self.service_ids_).get_indexer(held[C.SERVICE].astype(str))
        self.scores_[rows, cols] = -np.inf

    def recommend(self, resident_ids: pd.Series | np.ndarray | list[str], k: int = 10) -> pd.DataFrame:
        """``resident_id, service_id, score, rank``: each resident's top-``k`` allowed services by true score.

        Raises
        ------
        KeyError
            If a resident is not in the community.
        """
        ids = np.asarray(resident_ids, dtype=object)
        rows = self.resident_index_.get_indexer(ids.astype(str))
        if (rows < 0).any():
            raise KeyError(f"residents not in the community: {list(ids[rows < 0][:5])}")
        scores = self.scores_[rows]
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        picked = np.take_along_axis(scores, top, axis=1)
        res, pos = np.nonzero(np.isfinite(picked))
        return pd.DataFrame({C.RESIDENT: ids[res], C.SERVICE: self.service_ids_[top[res, pos]],
                             "score": picked[res, pos], "rank": pos + 1})


__all__ = ["HELD_EVENTS", "TruePreferenceRanking"]
