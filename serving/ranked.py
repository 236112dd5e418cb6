"""A stored ranked list cut to one request: the context's services, at the requested length.

Lists are stored at length ``k + depth`` (:mod:`training.batch_lists`). A request for ``k`` services, optionally
among those fitting a context, re-applies the one rule that depends on the list's length — the offline quota —
through the bundle's own rules (:meth:`recommenders.rules.ServiceRules.positions`): up to the stored ``k`` the
answer equals ``recommend(k)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from recommenders.rules import ServiceRules
from serving.list_store import ListFile


class Pick(NamedTuple):
    """One recommended service: internal service id, score and explanations."""

    service: int
    score: float
    explanation: str
    explanation_zh: str


def cut(part: ListFile, row: int, k: int, allowed: np.ndarray | None, rules: ServiceRules) -> list[Pick]:
    """The first ``k`` services of one stored list (among ``allowed`` ones), with the offline quota re-applied.

    Parameters
    ----------
    part : ListFile
    row : int
        The resident's row (:meth:`serving.list_store.ListStore.locate`).
    k : int
        Up to the stored ``k`` the exact ``recommend(k)`` answer; up to ``k + depth`` reaches into the
        exploration pool.
    allowed : ndarray of bool, optional
        Mask over all services (the request context); ``None`` keeps every service.
    rules : ServiceRules
        The bundle's fitted rules (:meth:`training.bundle.ModelBundle.rules`).
    """
    span = part.span(row)
    index = np.arange(span.start, span.stop)
    services = part.services[span]
    if allowed is not None:
        keep = allowed[services]
        services, index = services[keep], index[keep]
    chosen = index[rules.positions(services, bool(part.prefers_offline[row]), k)]
    return [Pick(int(part.services[i]), float(part.scores[i]), *part.texts(int(i))) for i in chosen]


__all__ = ["Pick", "cut"]
