"""Business rules applied after ranking: eligibility, accessibility first, offline channel, one-off use,
category diversity (at least a few categories in every list; optionally a cap per category). Rules are
configuration: :class:`RulesConfig` holds their defaults, and a training config changes them under
``[hybrid.rules]``.

Rules read the same point-in-time features as the ranker (``age_match``, ``scope_match``, …), so what
a rule decides is explainable from the feature pipeline and is identical in training and serving.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.columns import Columns as C
from features.columns import Vocab

#: Cross and resident features the rules read; the hybrid always computes them.
RULE_CROSS_FEATURES = ("age_match", "children_match", "residency_match", "scope_match", "accessibility_match",
                       "pair_strongest_event")
RULE_RESIDENT_FEATURES = ("prefers_offline", "accessibility_need")
_USED = Vocab.EVENTS.index("book") + 1  # pair_strongest_event is 1 + event index


class RulesConfig(BaseModel):
    """What the post-ranking rules do.

    Attributes
    ----------
    eligibility : bool
        Drop services whose age, children, residency or community-scope requirement the resident fails.
    unknown_is_eligible : bool
        A requirement the resident's data cannot settle (unknown age, say) does not exclude.
    accessibility_first : bool
        For residents with an accessibility need, rank accessible services before the others.
    offline_quota : int
        At least this many offline-capable (offline or both) services in the list of a resident who
        prefers offline (when that many are eligible).
    filter_used_one_off : bool
        Drop one-off services (permits, sign-ups) the resident already booked, used or rated. Which services
        are one-off is the data's ``one_off`` flag, or, when the caller passes them, the services residents do
        not repeat (:mod:`recommenders.repeat`).
    min_categories : int
        At least this many categories among a list's first ``category_window`` services (when the resident
        may be shown that many): a service of a category already listed is passed over only when the
        remaining places are needed for new categories. 0 turns it off. Unlike a cap, a resident whose needs
        sit mostly in one category (a migrant's permits) still sees them, and the list still spans several
        categories.
    category_window : int
        The list length ``min_categories`` applies to. Fixed, not the requested ``k``, so the order of the
        services never depends on ``k``: ``recommend(k)`` is the first ``k`` of ``recommend(k + n)``.
    max_per_category : int
        At most this many services of one category in a list; 0 (the default) turns the cap off.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    eligibility: bool = True
    unknown_is_eligible: bool = True
    accessibility_first: bool = True
    offline_quota: int = Field(3, ge=0)
    filter_used_one_off: bool = True
    min_categories: int = Field(4, ge=0)
    category_window: int = Field(10, ge=1)
    max_per_category: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _window_holds_the_categories(self) -> RulesConfig:
        if self.min_categories > self.category_window:
            raise ValueError(f"min_categories ({self.min_categories}) must be ≤ category_window "
                             f"({self.category_window})")
        return self


class ServiceRules:
    """Apply :class:`RulesConfig` to score matrices (residents × services).

    Parameters
    ----------
    config : RulesConfig
    services : pandas.DataFrame
        The services table in internal id order (category, channel, one_off).
    no_repeat : numpy.ndarray, optional
        Bool per service (same order): not listed again once consumed, as learned by
        :func:`recommenders.repeat.learn_repeat`; default the ``one_off`` flag.
    """

    def __init__(self, config: RulesConfig, services: pd.DataFrame, no_repeat: np.ndarray | None = None) -> None:
        self.config = config
        self.category_ = pd.Categorical(services[C.CATEGORY]).codes.astype(np.int64)
        self.offline_capable_ = services[C.CHANNEL].isin(["offline", "both"]).to_numpy(dtype=bool)
        if no_repeat is None:
            flags = services[C.ONE_OFF] if C.ONE_OFF in services.columns else pd.Series(False, index=services.index)
            no_repeat = flags.fillna(False).to_numpy(dtype=bool)
        if len(no_repeat) != len(services):
            raise ValueError(f"no_repeat has {len(no_repeat)} entries for {len(services)} services")
        self.one_off_ = np.asarray(no_repeat, dtype=bool)

    def allowed(self, cross: pd.DataFrame, shape: tuple[int, int]) -> np.ndarray:
        """Boolean (residents × services): which services may be shown at all.

        ``cross`` holds :data:`RULE_CROSS_FEATURES` for every pair in row-major order.
        """
        ok = np.ones(shape, dtype=bool)
        cfg = self.config
        if cfg.eligibility:
            for column in ("age_match", "children_match", "residency_match", "scope_match"):
                value = cross[column].to_numpy(dtype=np.float64).reshape(shape)
                ok &= (value == 1) | (np.isnan(value) & cfg.unknown_is_eligible)
        if cfg.filter_used_one_off:
            strongest = cross["pair_strongest_event"].to_numpy(dtype=np.float64).reshape(shape)
            ok &= ~(self.one_off_[None, :] & (strongest >= _USED))
        return ok

    def select(self, scores: np.ndarray, allowed: np.ndarray, residents: pd.DataFrame, cross: pd.DataFrame,
               k: int) -> tuple[np.ndarray, np.ndarray]:
        """Choose each resident's final top-``k`` services (internal ids, −1 padding when fewer qualify).

        Parameters
        ----------
        scores : ndarray (n, m)
            Ranker scores; −inf for services that are not candidates.
        allowed : ndarray (n, m)
            From :meth:`allowed`.
        residents : pandas.DataFrame
            :data:`RULE_RESIDENT_FEATURES` of the n residents, in order.
        cross : pandas.DataFrame
            :data:`RULE_CROSS_FEATURES` for every pair in row-major order.
        k : int

        Returns
        -------
        chosen : ndarray (n, k)
            Internal service ids in final order, −1 where fewer than ``k`` services qualify.
        key : ndarray (n, m)
            The ordering score after rules: the ranker score, lowered by a margin for services
            demoted by accessibility-first or deferred past the category window; −inf for services that may
            not be shown.
        """
        n, m = scores.shape
        key = np.where(allowed, scores, -np.inf)
        if self.config.accessibility_first:
            needs = residents["accessibility_need"].to_numpy(dtype=np.float64) == 1
            fits = cross["accessibility_match"].to_numpy(dtype=np.float64).reshape(n, m) == 1
            key = _demote(key, needs[:, None] & ~fits)
        order = np.argsort(-key, axis=1, kind="stable")
        valid = np.isfinite(np.take_along_axis(key, order, axis=1))
        if self.config.max_per_category > 0:
            valid &= _rank_within_category(self.category_[order]) < self.config.max_per_category
        if self.config.min_categories > 0:
            head = _category_head(self.category_[order], valid, self.config.min_categories,
                                  self.config.category_window)
            deferred = np.zeros((n, m), dtype=bool)
            np.put_along_axis(deferred, order, ~head, axis=1)
            key = _demote(key, deferred)  # after the head, in rank order: the key stays the list's order
            regroup = np.argsort(~head, axis=1, kind="stable")
            order, valid = np.take_along_axis(order, regroup, axis=1), np.take_along_axis(valid, regroup, axis=1)
        prefers = residents["prefers_offline"].to_numpy(dtype=np.float64) == 1
        chosen = self.fill(valid, self.offline_capable_[order], prefers, k)
        position = np.where(chosen, np.arange(m)[None, :], m)  # keep rank order among the chosen
        picked = np.sort(position, axis=1)[:, :k]
        out = np.where(picked < m, np.take_along_axis(order, np.minimum(picked, m - 1), axis=1), -1)
        return out, key

    def fill(self, valid: np.ndarray, capable: np.ndarray, prefers_offline: np.ndarray, k: int) -> np.ndarray:
        """Which places of ranked lists make the top ``k``: the offline quota, then rank order.

        An offline-preferring resident keeps their first ``offline_quota`` offline-capable services; the others
        fill the list in rank order up to ``k``. :meth:`select` ends with it, and serving re-applies it to a
        stored list cut to another length or filtered by a request context.

        Parameters
        ----------
        valid : ndarray of bool (n, m)
            Places that may be listed, in rank order.
        capable : ndarray of bool (n, m)
            Whether the service at each place can be used offline.
        prefers_offline : ndarray of bool (n,)
        k : int

        Returns
        -------
        ndarray of bool (n, m)
            The chosen places (at most ``k`` per row).
        """
        promoted = np.zeros_like(valid)
        if self.config.offline_quota > 0:
            capable = valid & capable
            promoted = (capable & (np.cumsum(capable, axis=1) <= self.config.offline_quota)
                        & np.asarray(prefers_offline, dtype=bool)[:, None])
        n_promoted_in_k = np.minimum(promoted.sum(axis=1), k)
        others = valid & ~promoted
        return promoted | (others & (np.cumsum(others, axis=1) <= (k - n_promoted_in_k)[:, None]))

    def positions(self, services: np.ndarray, prefers_offline: bool, k: int) -> np.ndarray:
        """Positions (in rank order) of the services one stored list keeps at length ``k`` (see :meth:`fill`).

        Parameters
        ----------
        services : ndarray of int
            Internal service ids of one ranked list.
        prefers_offline : bool
        k : int
        """
        services = np.asarray(services, dtype=np.int64)
        chosen = self.fill(np.ones((1, len(services)), dtype=bool), self.offline_capable_[services][None, :],
                           np.array([prefers_offline]), k)[0]
        return np.flatnonzero(chosen)[:k]

    def without_diversity(self) -> ServiceRules:
        """These rules without the diversity rules (per-category cap, minimum categories), for a resident's
        request for named services."""
        config = self.config.model_copy(update={"max_per_category": 0, "min_categories": 0})
        rules = copy.copy(self)  # the fitted arrays are shared, never written
        rules.config = config
        return rules


def _rank_within_category(categories: np.ndarray) -> np.ndarray:
    """For each position of each row, how many earlier positions of the row share its category."""
    n, m = categories.shape
    counts = np.zeros((n, m), dtype=np.int64)
    for code in np.unique(categories):
        same = categories == code
        counts += np.where(same, np.cumsum(same, axis=1) - 1, 0)
    return counts


def _demote(key: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``key`` with the finite entries under ``mask`` lowered below every other finite entry (order kept)."""
    finite = np.isfinite(key)
    if not (finite & mask).any():
        return key
    spread = float(key[finite].max() - key[finite].min())
    return np.where(mask & finite, key - (spread + 1.0), key)


def _category_head(categories: np.ndarray, valid: np.ndarray, wanted: int, window: int) -> np.ndarray:
    """Which ranked positions open each list so that its first ``window`` services span ``wanted`` categories.

    Walks every row in rank order: a valid service of a new category joins the head; one of a category
    already there joins only if the places left in the window still fit the categories missing. The others
    (and everything once the window is full) come after the head, in rank order. Rows with fewer than
    ``wanted`` categories among their valid services aim for all they have.

    Parameters
    ----------
    categories : ndarray (n, m)
        Category code of the service at each ranked position.
    valid : ndarray (n, m)
        Whether each ranked position may be shown.
    """
    n, m = categories.shape
    rows = np.arange(n)
    codes = np.unique(categories, return_inverse=True)[1].reshape(n, m)
    available = np.zeros((n, codes.max(initial=0) + 1), dtype=bool)
    available[np.repeat(rows, m)[valid.ravel()], codes[valid]] = True
    target = np.minimum(available.sum(axis=1), wanted)
    seen = np.zeros_like(available)
    kept = np.zeros(n, dtype=np.int64)
    distinct = np.zeros(n, dtype=np.int64)
    head = np.zeros((n, m), dtype=bool)
    for j in range(m):
        code = codes[:, j]
        new = ~seen[rows, code]
        take = valid[:, j] & (kept < window) & (new | (window - kept - 1 >= target - distinct))
        head[:, j] = take
        seen[rows[take], code[take]] = True
        distinct += take & new
        kept += take
    return head
