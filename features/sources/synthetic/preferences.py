"""True preference scores of every resident for every service — the hidden ground truth.

score = type affinity (what the resident's latent types want from each category)
      + hidden hobby categories (not revealed by any attribute)
      + latent taste factors (resident · service, learnable only from behaviour)
      + service quality, − a channel mismatch penalty, − a penalty for services that are not accessible
      to residents with accessibility needs.
Services a resident is not eligible for, or that their community does not offer, score −inf.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.columns import LIST_SEPARATOR, Vocab
from features.columns import Columns as C
from features.sources.synthetic.population import TYPES, Population

_CAT = {name: j for j, name in enumerate(Vocab.SERVICE_CATEGORIES)}
_AFFINITY = {  # latent type -> {category: affinity}; every type also gets the baseline
    "elderly": {"elderly_care": 2.6, "health": 1.8, "culture_sports": 0.8, "legal_social": 0.4},
    "family_with_children": {"childcare": 2.8, "health": 0.7, "culture_sports": 0.4},
    "commuter": {"convenience": 1.8, "culture_sports": 0.5, "youth_study": 0.2},
    "migrant": {"administration": 2.3, "employment": 0.9, "convenience": 0.5},
    "student": {"youth_study": 2.6, "culture_sports": 0.9, "volunteering": 0.6},
    "accessibility_needs": {"accessibility": 2.9, "health": 1.0},
    "job_seeker": {"employment": 2.8, "administration": 0.5},
    "other": {"convenience": 0.9, "culture_sports": 0.9, "volunteering": 0.8, "health": 0.5},
}
_BASELINE = {"convenience": 0.8, "health": 0.4, "culture_sports": 0.2}
FACTORS = 6


def affinity_matrix() -> np.ndarray:
    """(types × categories) affinity, baseline included."""
    matrix = np.zeros((len(TYPES), len(Vocab.SERVICE_CATEGORIES)), dtype=np.float32)
    for t, name in enumerate(TYPES):
        for cat, value in {**_BASELINE, **_AFFINITY[name]}.items():
            matrix[t, _CAT[cat]] = max(value, _BASELINE.get(cat, 0.0))
    return matrix


def service_latents(rng: np.random.Generator, services: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-service quality and latent taste vectors."""
    quality = rng.normal(0.0, 0.45, len(services)).astype(np.float32)
    vectors = rng.normal(0.0, 1.0, (len(services), FACTORS)).astype(np.float32)
    return quality, vectors


def eligibility(pop: Population, services: pd.DataFrame) -> np.ndarray:
    """(residents × services) bool: the service's rules admit the resident and it is offered where they live."""
    age = pop.age[:, None]
    min_age = services[C.MIN_AGE].astype("Float64").fillna(0).to_numpy(dtype=float)[None, :]
    max_age = services[C.MAX_AGE].astype("Float64").fillna(200).to_numpy(dtype=float)[None, :]
    ok = (age >= min_age) & (age <= max_age)
    needs_children = services[C.REQUIRES_CHILDREN].fillna(False).to_numpy(dtype=bool)[None, :]
    ok &= ~needs_children | pop.types[:, [TYPES.index("family_with_children")]]
    floating = pop.types[:, [TYPES.index("migrant")]]
    rule = services[C.RESIDENCY_REQUIRED].fillna("any").to_numpy()[None, :]
    ok &= (rule == "any") | ((rule == "floating") & floating) | ((rule == "registered") & ~floating)
    communities, community = np.unique(pop.residents[C.COMMUNITY].to_numpy(dtype=str), return_inverse=True)
    for j, scope in enumerate(services[C.COMMUNITY_SCOPE].to_numpy()):
        if isinstance(scope, str) and scope:
            offered = np.isin(communities, scope.split(LIST_SEPARATOR))  # per community, not per resident
            ok[:, j] &= offered[community]
    return ok


def true_scores(rng: np.random.Generator, pop: Population, services: pd.DataFrame,
                quality: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """(residents × services) float32 true preference; −inf where not eligible or not offered."""
    n = len(pop.primary)
    category = services[C.CATEGORY].map(_CAT).to_numpy()
    type_weight = pop.types.astype(np.float32)
    by_category = np.maximum.reduce([type_weight[:, [t]] * affinity_matrix()[t][None, :]
                                     for t in range(len(TYPES))])
    hobby = np.zeros_like(by_category)
    hobbies = rng.integers(0, len(Vocab.SERVICE_CATEGORIES), (n, 2))
    has_hobby = rng.random((n, 2)) < np.array([0.55, 0.25])
    for k in range(2):
        hobby[np.arange(n)[has_hobby[:, k]], hobbies[has_hobby[:, k], k]] += 1.3
    taste = rng.normal(0.0, 0.45, (n, FACTORS)).astype(np.float32)
    scores = (by_category + hobby)[:, category] + taste @ vectors.T + quality[None, :]
    offline_person = (pop.residents[C.PREFERRED_CHANNEL] == "offline").to_numpy()[:, None]
    online_only = (services[C.CHANNEL] == "online").to_numpy()[None, :]
    scores -= 1.2 * (offline_person & online_only)
    needs_access = pop.types[:, [TYPES.index("accessibility_needs")]]
    not_accessible = ~services[C.ACCESSIBLE].fillna(True).to_numpy(dtype=bool)[None, :]
    scores -= 1.5 * (needs_access & not_accessible)
    scores[~eligibility(pop, services)] = -np.inf
    return scores.astype(np.float32)
