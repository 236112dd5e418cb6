"""The recommender's service rules, applied to one known resident's free-text request.

``/recommendations`` lists come out of :meth:`recommenders.hybrid.HybridRecommender.recommend`, which applies
:class:`recommenders.rules.ServiceRules`: eligibility (age, children, residence, community scope), one-off services
not offered again, accessibility first and the offline quota. A request for services named in the resident's own
words gets the same rules, read from the same bundle: :meth:`ResidentRules.facts` gives the rules' inputs (the
cross features of the resident with every service, computed in training and stored with the version's lists,
:mod:`training.rule_inputs`) and the services they allow, and :meth:`ResidentRules.order` ranks text-matched
services with :meth:`ServiceRules.select`. Only the diversity rules (at most so many services per category, at
least so many categories) are left out: a resident who asks for home care wants home care.

Why a service is not offered is read from the rule inputs (:data:`REASONS`), not decided again here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommenders.rules import RULE_RESIDENT_FEATURES, ServiceRules
from serving.list_store import ListStore
from training.bundle import ModelBundle
from training.rule_inputs import REASON_LIST, REASONS, USED_ONE_OFF, compute


@dataclass(frozen=True)
class ResidentFacts:
    """The rule inputs of one known resident.

    Attributes
    ----------
    resident_id : str
    community : str or None
        Home community in the bundle's data.
    prefers_offline : bool
    allowed : ndarray of bool, shape (services,)
        Services the rules allow (eligible, offered in the home community, one-off not used).
    reasons : tuple of (code, English, Chinese) or None
        Per service, why it is not allowed (``None`` where allowed).
    rule_resident : pandas.DataFrame
        The resident's :data:`RULE_RESIDENT_FEATURES` (one row), as :meth:`ServiceRules.select` reads them.
    cross : pandas.DataFrame
        ``accessibility_match`` per service, as :meth:`ServiceRules.select` reads it.
    """

    resident_id: str
    community: str | None
    prefers_offline: bool
    allowed: np.ndarray
    reasons: tuple[tuple[str, str, str] | None, ...]
    rule_resident: pd.DataFrame
    cross: pd.DataFrame


class ResidentRules:
    """The bundle's service rules for single residents, their inputs read from the version's stored lists.

    Training stores every resident's rule inputs beside their list (:mod:`training.rule_inputs`), and serving reads
    them from the memory-mapped files: nothing is computed per resident when a version loads, and nothing is held
    per resident in Python. A version stored without them (trained before they were stored) still serves: its
    inputs are computed when it loads (:func:`training.rule_inputs.compute`, in batches), as they always were.

    Parameters
    ----------
    bundle : ModelBundle
        The served bundle; its recommender's fitted rules and feature pipeline are used as they are.
    stored : ListStore, optional
        The version's lists; their rule inputs are used when they have them.
    """

    def __init__(self, bundle: ModelBundle, stored: ListStore | None = None) -> None:
        self.bundle = bundle
        self.rules: ServiceRules = bundle.rules().without_diversity()
        self.services = bundle.service_ids().to_numpy(dtype=object)
        self.stored = stored is not None and stored.rules is not None
        if stored is not None and stored.rules is not None:
            self._lookup = stored.rule_inputs
        else:
            residents = bundle.resident_ids()
            computed = compute(bundle, residents.to_numpy(dtype=object))
            rows = {str(r): i for i, r in enumerate(residents)}
            self._lookup = lambda resident_id: (computed, rows[resident_id]) if resident_id in rows else None

    def known(self, resident_id: str) -> bool:
        """Whether the bundle knows the resident."""
        return self._lookup(resident_id) is not None

    def facts(self, resident_id: str) -> ResidentFacts | None:
        """The rule inputs of a known resident; ``None`` for a resident the bundle does not know."""
        found = self._lookup(resident_id)
        if found is None:
            return None
        inputs, row = found
        codes = inputs.reason[row]
        reasons = tuple(None if c < 0 else REASON_LIST[c] for c in codes.tolist())
        values = inputs.resident[row]
        rule_resident = pd.DataFrame([values], index=pd.Index([resident_id]), columns=list(RULE_RESIDENT_FEATURES))
        cross = pd.DataFrame({"accessibility_match": inputs.fits[row].astype(np.float64)})
        prefers = values[RULE_RESIDENT_FEATURES.index("prefers_offline")] == 1
        return ResidentFacts(resident_id=resident_id, community=self.bundle.home_community(resident_id),
                             prefers_offline=bool(prefers), allowed=codes < 0, reasons=reasons,
                             rule_resident=rule_resident, cross=cross)

    def order(self, facts: ResidentFacts, scores: np.ndarray, k: int) -> list[int]:
        """Services to offer, best first: ``scores`` (−inf where not a candidate) ranked by the rules.

        Parameters
        ----------
        facts : ResidentFacts
        scores : ndarray of float, shape (services,)
            Relevance of each service to the request (already combined with the resident's own scores).
        k : int
            Most services offered.
        """
        chosen, _ = self.rules.select(scores[None, :], facts.allowed[None, :], facts.rule_resident, facts.cross, k)
        return [int(s) for s in chosen[0] if s >= 0]


__all__ = ["REASONS", "USED_ONE_OFF", "ResidentFacts", "ResidentRules"]
