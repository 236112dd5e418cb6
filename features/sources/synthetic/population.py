"""Residents of the synthetic community: latent types first, then the attributes that partly reveal them.

Each resident gets a primary latent type drawn from their community kind's mix, plus secondary types
(a commuting parent, a migrant job seeker, a grandparent raising grandchildren). Attributes are then
drawn from the types with realistic noise: unknown ages, missing fields, locally working employees who
are not commuters, retirees under 60. The rule personas must be recovered from these attributes and
from behaviour; nothing here is read by a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.sources.synthetic.definitions import PersonaDefinitions

#: Latent types, in the order used by every matrix in this package.
TYPES = ("elderly", "family_with_children", "commuter", "migrant", "student", "accessibility_needs",
         "job_seeker", "other")
T = {name: i for i, name in enumerate(TYPES)}

#: Primary-type mix per community kind (rows sum to 1; order of TYPES).
KIND_MIX = {
    "ageing":        (0.44, 0.14, 0.13, 0.06, 0.04, 0.06, 0.05, 0.08),
    "young_family":  (0.12, 0.44, 0.18, 0.08, 0.05, 0.03, 0.04, 0.06),
    "commuter":      (0.08, 0.17, 0.47, 0.10, 0.07, 0.02, 0.03, 0.06),
    "migrant_heavy": (0.06, 0.14, 0.14, 0.44, 0.05, 0.02, 0.08, 0.07),
    "mixed":         (0.20, 0.22, 0.22, 0.13, 0.06, 0.04, 0.06, 0.07),
}
#: (primary type, secondary type, probability) — people in two types.
SECONDARY = (
    ("elderly", "accessibility_needs", 0.15), ("elderly", "family_with_children", 0.12),
    ("elderly", "migrant", 0.07), ("family_with_children", "commuter", 0.45),
    ("family_with_children", "migrant", 0.15), ("commuter", "migrant", 0.20),
    ("migrant", "commuter", 0.35), ("migrant", "job_seeker", 0.15), ("migrant", "family_with_children", 0.20),
    ("student", "migrant", 0.10), ("job_seeker", "migrant", 0.25), ("other", "migrant", 0.08),
    ("accessibility_needs", "job_seeker", 0.10),
)
REFERENCE_YEAR = 2026


@dataclass(frozen=True)
class Population:
    """Residents' raw table plus the latent truth the generator used to draw them."""

    residents: pd.DataFrame
    types: np.ndarray  # (n, len(TYPES)) bool, multi-label truth
    primary: np.ndarray  # (n,) int index into TYPES
    age: np.ndarray  # true age in REFERENCE_YEAR
    district_index: np.ndarray  # (n,) int, district of the home community
    labels: np.ndarray | None = None  # (n, len(TYPES)) bool, persona labels under the city's definitions
    local_worker: np.ndarray | None = None  # (n,) bool, employed and working locally (not a commuter)
    definitions: PersonaDefinitions = field(default_factory=PersonaDefinitions)

    def persona_labels(self) -> np.ndarray:
        """Ground-truth persona labels: the latent types, re-labelled by the community's definitions."""
        return self.types if self.labels is None else self.labels


def _pick(rng: np.random.Generator, n: int, values: tuple, p: tuple[float, ...]) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=np.asarray(p) / sum(p))]


def _ages(rng: np.random.Generator, types: np.ndarray, primary: np.ndarray) -> np.ndarray:
    n = len(primary)
    age = rng.integers(22, 60, n)
    by_primary = {
        "elderly": 60 + np.minimum(rng.gamma(2.0, 6.0, n), 38).astype(int),
        "student": rng.integers(16, 26, n),
        "family_with_children": rng.integers(26, 50, n),
        "commuter": rng.integers(22, 59, n),
        "job_seeker": rng.integers(18, 59, n),
    }
    for name, drawn in by_primary.items():
        age = np.where(primary == T[name], drawn, age)
    return np.where(types[:, T["elderly"]], np.maximum(age, 60), np.minimum(age, 59))


def _employment(rng: np.random.Generator, types: np.ndarray, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reported employment and whether an employed resident works locally (not a commuter)."""
    n = len(age)
    employment = _pick(rng, n, ("employed", "other"), (0.55, 0.45))  # homemakers, local workers
    employment = np.where(types[:, T["commuter"]], _pick(rng, n, ("employed", "other"), (0.97, 0.03)), employment)
    employment = np.where(types[:, T["job_seeker"]], _pick(rng, n, ("unemployed", "other"), (0.92, 0.08)),
                          employment)
    employment = np.where(types[:, T["student"]], _pick(rng, n, ("student", "other"), (0.97, 0.03)), employment)
    early_retiree = (age >= 55) & (rng.random(n) < 0.3) & ~types[:, T["commuter"]] & ~types[:, T["job_seeker"]]
    employment = np.where(early_retiree, "retired", employment)
    employment = np.where(types[:, T["elderly"]], _pick(rng, n, ("retired", "other", "employed"), (0.93, 0.05, 0.02)),
                          employment)
    employment = employment.astype(object)
    employment[rng.random(n) < 0.03] = None
    local_worker = (employment == "employed") & ~types[:, T["commuter"]]
    return employment, local_worker


def _households(rng: np.random.Generator, types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(types)
    has_children = types[:, T["family_with_children"]]
    children = np.where(has_children, rng.choice([1, 1, 1, 2, 2, 3], n), 0)
    adults = np.where(types[:, T["elderly"]] & ~has_children, rng.choice([1, 2, 2], n), rng.choice([1, 2, 2, 2, 3], n))
    adults = np.where(has_children, rng.choice([2, 2, 3, 4], n), adults)
    return children.astype(float), (children + adults).astype(float)


def make_population(rng: np.random.Generator, communities: pd.DataFrame, n: int,
                    definitions: PersonaDefinitions | None = None) -> Population:
    """Draw ``n`` residents into ``communities`` (sizes vary), with latent types and noisy attributes.

    ``definitions`` (default: :class:`PersonaDefinitions`) say what the city counts as each persona; the
    default definitions draw exactly the community of earlier versions.
    """
    definitions = definitions or PersonaDefinitions()
    custom = not definitions.is_default()
    sizes = rng.lognormal(0.0, 0.35, len(communities))
    community = np.sort(rng.choice(len(communities), size=n, p=sizes / sizes.sum()))
    kinds = communities[C.COMMUNITY_KIND].to_numpy()[community]
    primary = np.empty(n, dtype=np.int64)
    for kind, mix in KIND_MIX.items():
        mask = kinds == kind
        primary[mask] = rng.choice(len(TYPES), size=int(mask.sum()), p=mix)
    types = np.zeros((n, len(TYPES)), dtype=bool)
    types[np.arange(n), primary] = True
    migrant_boost = np.where(kinds == "migrant_heavy", 2.0, 1.0)
    for first, second, p in SECONDARY:
        prob = p * (migrant_boost if second == "migrant" else 1.0)
        types[:, T[second]] |= (primary == T[first]) & (rng.random(n) < prob)
    types[:, T["other"]] = ~types[:, : T["other"]].any(axis=1)

    age = _ages(rng, types, primary)
    employment, local_worker = _employment(rng, types, age)
    if custom:
        employment, local_worker = _idle_unemployed(rng, definitions, types, age, employment)
    children, household = _households(rng, types)
    migrant = types[:, T["migrant"]]
    residency = np.where(migrant, _pick(rng, n, ("floating", "registered"), (0.96, 0.04)), "registered")
    months = np.where(migrant, 1 + np.minimum(rng.exponential(14, n), 35), rng.integers(36, 12 * 40, n))
    if custom and definitions.migrant.recent_movers > 0:
        movers = ~migrant & (rng.random(n) < definitions.migrant.recent_movers)
        months = np.where(movers, rng.integers(1, definitions.migrant.recent_mover_months + 1, n), months)
    months = np.minimum(months, np.maximum(age, 1) * 12).astype(int)
    accessibility = np.where(types[:, T["accessibility_needs"]],
                             _pick(rng, n, ("mobility", "visual", "hearing", "cognitive"), (0.5, 0.2, 0.2, 0.1)),
                             "none")
    offline_mix = _pick(rng, n, ("offline", "both", "online"), (0.6, 0.3, 0.1))
    channel = np.where(types[:, T["elderly"]] | types[:, T["accessibility_needs"]], offline_mix,
                       _pick(rng, n, ("online", "both", "offline"), (0.5, 0.42, 0.08)))

    districts = communities[C.DISTRICT].to_numpy()
    district_codes, district_index = np.unique(districts, return_inverse=True)
    home_district = district_index[community]
    other_district = (home_district + rng.integers(1, max(len(district_codes), 2), n)) % len(district_codes)
    commuter = types[:, T["commuter"]]
    work = np.full(n, None, dtype=object)
    commute_draw = rng.random(n)
    work[commuter & (commute_draw < 0.65)] = district_codes[other_district][commuter & (commute_draw < 0.65)]
    same = (commuter & (commute_draw >= 0.65) & (commute_draw < 0.85)) | (local_worker & (commute_draw < 0.6))
    work[same] = district_codes[home_district][same]
    departure = np.full(n, np.nan)
    known = rng.random(n) < 0.7
    departure[commuter & known] = rng.choice([6, 7, 7, 8, 8, 9], n)[commuter & known]
    shift = local_worker & (rng.random(n) < 0.4)
    departure[shift] = rng.choice([10, 11, 12, 13, 14, 16], n)[shift]

    if not definitions.commuter.recorded:  # commuting is latent: nothing about it is on record
        work[:] = None
        departure[:] = np.nan
    labels = _labels(definitions, types, residency, months) if custom else None

    birth_year = (REFERENCE_YEAR - age).astype(float)
    birth_year[rng.random(n) < 0.04] = np.nan  # unknown ages
    residency = residency.astype(object)
    residency[rng.random(n) < 0.04] = None
    children[rng.random(n) < 0.04] = np.nan
    accessibility = accessibility.astype(object)
    accessibility[rng.random(n) < 0.03] = None

    residents = pd.DataFrame({
        C.RESIDENT: [f"R{i + 1:07d}" for i in range(n)],
        C.COMMUNITY: communities[C.COMMUNITY].to_numpy()[community],
        C.BIRTH_YEAR: pd.array(birth_year, dtype="Int64"),
        C.HOUSEHOLD_SIZE: pd.array(household, dtype="Int64"),
        C.CHILDREN: pd.array(children, dtype="Int64"),
        C.EMPLOYMENT: employment,
        C.RESIDENCY: residency,
        C.MONTHS_RESIDENT: months,
        C.ACCESSIBILITY: accessibility,
        C.PREFERRED_CHANNEL: channel,
        C.WORK_DISTRICT: work,
        C.DEPARTURE_HOUR: pd.array(departure, dtype="Int64"),
    })
    return Population(residents, types, primary, age, district_index[community], labels, local_worker,
                      definitions)


def _idle_unemployed(rng: np.random.Generator, definitions: PersonaDefinitions, types: np.ndarray,
                     age: np.ndarray, employment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Some working-age residents who are not job seekers report being unemployed (not looking for work)."""
    busy = types[:, [T["commuter"], T["student"], T["elderly"], T["job_seeker"]]].any(axis=1)
    idle = ~busy & (age < 60) & np.isin(employment, ["employed", "other"])
    idle &= rng.random(len(age)) < definitions.job_seeker.idle_unemployed
    employment = np.where(idle, "unemployed", employment).astype(object)
    employment[pd.isna(employment)] = None
    return employment, (employment == "employed") & ~types[:, T["commuter"]]


def _labels(definitions: PersonaDefinitions, types: np.ndarray, residency: np.ndarray,
            months: np.ndarray) -> np.ndarray:
    """Persona labels under the city's definitions (from the true, unmasked attributes)."""
    labels = types.copy()
    rule = definitions.migrant
    if rule.label == "floating_or_recent":
        labels[:, T["migrant"]] = (residency == "floating") | (months < rule.max_months)
    labels[:, T["other"]] = ~labels[:, : T["other"]].any(axis=1)
    return labels
