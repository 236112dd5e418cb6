"""Exploration: a small share of lists show one service from just past the list, with logged propensities.

A deterministic top-k policy shows every resident the same services, so its logs say nothing about the
services a new model would show instead, and a challenger could only be judged after it has served people.
With exploration, a list is chosen for exploring with probability ``rate`` (decided from its request id);
its last place then goes to a service drawn uniformly from the ``m`` next services of the resident's own
ranking (those fitting the request context and not shown already; precomputed with the lists, so exploring costs
no model call). Every shown service is logged with its
*propensity*, the probability that this policy put it in this list:

* places ``1 … k-1``: 1;
* place ``k`` as ranked: ``1 - rate``;
* an explored service: ``rate / m``.

:mod:`training.off_policy` weights clicks by the inverse propensity to estimate how a new model's lists would
do. Assumption, documented for users of the estimate: the pool is taken to be non-empty when the list is not
explored (true whenever more than ``k`` services fit; lists shorter than ``k`` are never explored and log 1
everywhere). Cold-start residents (ranked from a profile) are not explored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from serving.ab import bucket
from serving.ranked import Pick

if TYPE_CHECKING:
    from serving.context import RequestContext
    from serving.model_holder import ServedModel

#: Prefixes of an explored service's explanation (the model's own reason follows).
EXPLORED_EN = "New for you:"
EXPLORED_ZH = "新推荐："


@dataclass(frozen=True)
class Exploration:
    """The exploration policy of the API.

    Parameters
    ----------
    rate : float
        Share of lists explored, 0–1 (``LINLI_EXPLORATION_RATE``).
    depth : int
        How many services past the list the explored one may come from (``LINLI_EXPLORATION_DEPTH``).
    """

    rate: float
    depth: int

    def chosen(self, request_id: str) -> bool:
        """Whether the list with this request id is explored (a fixed function of the id)."""
        return self.rate > 0 and bucket(request_id, "explore") < self.rate

    def apply(self, model: ServedModel, resident_id: str, picks: list[Pick], k: int,
              context: RequestContext | None, request_id: str) -> tuple[list[Pick], list[float]]:
        """The list to show and each shown service's propensity.

        Parameters
        ----------
        model : ServedModel
            The model that ranked ``picks``.
        resident_id : str
            A resident the model knows.
        picks : list of Pick
            The model's top-``k`` for the resident in this context.
        k : int
            Requested length.
        context : RequestContext, optional
            The request's filters (the explored service must fit them too).
        request_id : str
            The list's id; it seeds both the decision and the draw, so a list can be re-derived.
        """
        full = len(picks) == k and self.rate > 0
        propensities = [1.0] * len(picks)
        if not full:
            return picks, propensities
        propensities[-1] = 1.0 - self.rate
        if not self.chosen(request_id):
            return picks, propensities
        shown = {p.service for p in picks}
        extended = model.recommend([resident_id], k + self.depth, context, pool=True)[0][0]
        pool = [p for p in extended if p.service not in shown][: self.depth]
        if not pool:
            return picks, [1.0] * len(picks)
        seed = int.from_bytes(hashlib.sha256(f"draw:{request_id}".encode()).digest()[:8], "big")
        drawn = pool[int(np.random.default_rng(seed).integers(len(pool)))]
        explored = Pick(drawn.service, drawn.score, f"{EXPLORED_EN} {drawn.explanation}".strip(),
                        f"{EXPLORED_ZH}{drawn.explanation_zh}")
        return [*picks[:-1], explored], [*propensities[:-1], self.rate / len(pool)]


__all__ = ["EXPLORED_EN", "EXPLORED_ZH", "Exploration"]
