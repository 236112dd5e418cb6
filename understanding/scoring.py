"""How the lexicon, BM25 and the classifiers' probabilities combine into category and service scores.

Kept apart from the model so the weights are one object (:class:`Weights`) that an evaluation can vary; the shares
were chosen by grouped cross-validation inside the training split (``linli requests eval --cv 5``), never on its
test part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Weights:
    """The weights of the combination.

    Attributes
    ----------
    lexicon, bm25, classifier, category : float
        Shares of a service's relevance from its lexicon finds, its BM25 score, the service classifier's
        probability and its category's score.
    category_classifier : float
        Share of a category's score from the category classifier (the rest: lexicon and BM25 evidence).
    min_relevance : float
        Least relevance for a service to be offered.
    min_intent : float
        Least score for a category to be reported as an intent.
    personal : float
        Share of a known resident's personalised rank in the final score of the services the text points at.
    complaint : float
        Least complaint score (classifier probability plus a fifth of the lexicon evidence) to flag a kind.
    complaint_category : float
        Share of each complaint kind's score added to the category that handles the kind (noise → legal_social),
        before services are scored: a complaint and its category agree instead of fighting.
    service_category : float
        Share of a category's final score from its best service's relevance (the rest: its score above), so the
        category agrees with the services offered.
    """

    lexicon: float = 0.25
    bm25: float = 0.15
    classifier: float = 0.45
    category: float = 0.3
    category_classifier: float = 0.6
    min_relevance: float = 0.12
    min_intent: float = 0.15
    personal: float = 0.25
    complaint: float = 0.4
    complaint_category: float = 0.7
    service_category: float = 0.2


def category_scores(categories: Sequence[str], service_category: np.ndarray, service_ids: Sequence[str],
                    service_finds: Mapping[str, float], category_finds: Mapping[str, float], bm25: np.ndarray,
                    proba: Mapping[str, float] | None, weights: Weights) -> dict[str, float]:
    """Score per category in [0, 1], summing to at most 1: classifier probability blended with text evidence.

    Evidence of a category: its own lexicon finds (half weight), its best service's lexicon finds and its best
    service's BM25 score (double weight); evidence turns into shares by dividing by the total plus one, so weak
    evidence stays weak.
    """
    evidence = dict.fromkeys(categories, 0.0)
    for category, score in category_finds.items():
        if category in evidence:
            evidence[category] += 0.5 * score
    best_find: dict[str, float] = {}
    for sid, category in zip(service_ids, service_category, strict=True):
        best_find[category] = max(best_find.get(category, 0.0), service_finds.get(sid, 0.0))
    for category, score in best_find.items():
        evidence[category] = evidence.get(category, 0.0) + score
    for category in set(service_category):
        evidence[category] = evidence.get(category, 0.0) + 2 * float(bm25[service_category == category].max())
    total = sum(evidence.values()) + 1.0
    shares = {c: v / total for c, v in evidence.items()}
    if proba is None:
        return shares
    w = weights.category_classifier
    return {c: w * float(proba.get(c, 0.0)) + (1 - w) * shares.get(c, 0.0) for c in evidence}


def with_complaints(categories: Mapping[str, float], handlers: Mapping[str, str],
                    proba: Mapping[str, float] | None, finds: Mapping[str, float], share: float) -> dict[str, float]:
    """Category scores with complaint evidence added to the categories that handle each kind, renormalised to
    sum to at most 1.

    A kind's evidence is its complaint-classifier probability plus a fifth of its lexicon evidence (as in
    :func:`complaint_kind`), times ``share``; ``handlers`` maps a kind to its category (learned from the corpus).
    """
    out = dict(categories)
    for kind, category in handlers.items():
        if category in out:
            out[category] += share * ((float(proba.get(kind, 0.0)) if proba else 0.0) + 0.2 * finds.get(kind, 0.0))
    total = sum(out.values())
    return {c: v / total for c, v in out.items()} if total > 1 else out


def with_services(categories: Mapping[str, float], relevance: np.ndarray, service_category: np.ndarray,
                  share: float) -> dict[str, float]:
    """Category scores blended with their best service's relevance (``share``), so the understood category
    agrees with the top-ranked services."""
    best = {c: float(relevance[service_category == c].max()) for c in set(service_category.tolist())}
    return {c: (1 - share) * v + share * best.get(c, 0.0) for c, v in categories.items()}


def service_scores(service_ids: Sequence[str], service_category: np.ndarray, service_finds: Mapping[str, float],
                   bm25: np.ndarray, proba: Mapping[str, float] | None, categories: Mapping[str, float],
                   weights: Weights) -> np.ndarray:
    """Relevance of every service (catalogue order) to the text.

    A service with no lexicon find, no BM25 score and no classifier probability above 0.05 gets 0, whatever its
    category's score: only text that points at a service offers it.
    """
    lexicon = np.array([min(1.0, service_finds.get(s, 0.0) / 2) for s in service_ids])
    clf = np.array([float(proba.get(s, 0.0)) for s in service_ids]) if proba is not None else np.zeros(len(lexicon))
    cat = np.array([categories.get(c, 0.0) for c in service_category])
    share_clf = weights.classifier if proba is not None else 0.0
    scale = weights.lexicon + weights.bm25 + share_clf + weights.category
    relevance = (weights.lexicon * lexicon + weights.bm25 * np.minimum(bm25, 1.0) + share_clf * clf
                 + weights.category * cat) / scale
    pointed = (lexicon > 0) | (bm25 > 0.15) | (clf > 0.05)
    return np.where(pointed, relevance, 0.0)


def complaint_kind(finds: Mapping[str, float], proba: Mapping[str, float] | None, none_label: str,
                   threshold: float) -> str | None:
    """The complaint kind, or ``None`` for a plain need.

    A kind's score is its complaint-classifier probability plus a fifth of its lexicon evidence (without a
    classifier: a third of the evidence); the best kind is flagged when its score reaches ``threshold``.
    """
    kinds = set(finds) | ({k for k in proba if k != none_label} if proba is not None else set())
    share = 0.2 if proba is not None else 1 / 3
    scores = {k: (float(proba.get(k, 0.0)) if proba is not None else 0.0) + share * finds.get(k, 0.0) for k in kinds}
    if not scores:
        return None
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= threshold else None
