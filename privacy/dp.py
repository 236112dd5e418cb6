"""Differential privacy for the planner tables: Laplace noise on counts, ε set per deployment.

With ``LINLI_PLANNER_EPSILON`` set (a positive number; unset means off), the planner tables built with the
model (:mod:`profiling.reports`, :mod:`profiling.demand`) are released under ε-differential privacy for
adding or removing one resident:

- **Budget.** ε is the budget of one *data version* (everything the true counts depend on: the counted
  data, the persona tags and the segments). It is split equally over the tables of :data:`TABLES`
  (sequential composition: ε = Σ ε_table), so each table gets ε / 3.
- **Noise.** Each table's counts at the finest level (communities) get Laplace noise of scale
  ``sensitivity / ε_table``, where the sensitivity is the L1 bound of one resident's contribution to the
  whole table (stated by each table's builder).
- **Consistent roll-ups.** Post-processing (which costs no privacy) turns the noisy communities into
  non-negative integers whose street and district sums are the published parents: each district is its
  communities' noisy sum, and :func:`project_to_totals` splits it over streets, then communities
  (:mod:`profiling.private_tables`). No parent count is a fresh query on the budget.
- **Stable noise.** The generator is seeded by HMAC-SM3(secret, table | version): reloading the page, or
  rebuilding the same data version, gives the same noise, so averaging repeated answers recovers nothing.
  A new data version draws new noise and spends a new ε (see docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from pydantic_settings import BaseSettings, SettingsConfigDict

EPSILON_SETTING: Final = "LINLI_PLANNER_EPSILON"
KEY_SETTING: Final = "LINLI_PLANNER_NOISE_KEY"
FALLBACK_KEY_SETTING: Final = "LINLI_PSEUDONYM_KEY"
#: The tables that share one data version's budget, in equal parts.
TABLES: Final = ("segments", "usage", "monthly")
_DIGEST: Final = "sm3"


class PlannerPrivacyError(ValueError):
    """A differential-privacy setting is unusable; the message names the setting."""


def parse_epsilon(raw: object) -> float | None:
    """``LINLI_PLANNER_EPSILON`` as a number, or ``None`` when unset (differential privacy off).

    Raises
    ------
    PlannerPrivacyError
        ``raw`` is not a number, or not finite and positive.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise PlannerPrivacyError(f"{EPSILON_SETTING} must be a positive number (e.g. 1.0), not {raw!r}")
    try:
        value = float(raw.strip() if isinstance(raw, str) else raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PlannerPrivacyError(f"{EPSILON_SETTING} must be a positive number (e.g. 1.0), not {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise PlannerPrivacyError(
            f"{EPSILON_SETTING} must be a finite number above 0 (e.g. 1.0), not {raw!r}; "
            "unset it to turn differential privacy off"
        )
    return value


def release_version(*parts: bytes | str) -> str:
    """A SHA-256 over everything the true counts depend on: the data version that seeds the noise."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


@dataclass(frozen=True)
class PlannerDp:
    """One data version's differentially private release of the planner tables.

    Parameters
    ----------
    epsilon : float
        The budget of the whole release (all of :data:`TABLES`).
    key : bytes
        The secret that seeds the noise (never stored in a report).
    version : str
        The data version (:func:`release_version`).
    """

    epsilon: float
    key: bytes
    version: str

    def __post_init__(self) -> None:
        parse_epsilon(self.epsilon)
        if not self.key:
            raise PlannerPrivacyError(f"{KEY_SETTING} is empty; differential privacy needs a secret noise seed")

    @property
    def table_epsilon(self) -> float:
        """Each table's share of the budget."""
        return self.epsilon / len(TABLES)

    def scale(self, sensitivity: float) -> float:
        """Laplace scale ``b`` of a table whose L1 sensitivity is ``sensitivity``."""
        return float(sensitivity) / self.table_epsilon

    def generator(self, table: str) -> np.random.Generator:
        """The noise generator of one table of this data version (the same on every call)."""
        if table not in TABLES:
            raise ValueError(f"unknown planner table {table!r}; expected one of {TABLES}")
        seed = hmac.digest(self.key, f"{table}|{self.version}".encode(), _DIGEST)
        return np.random.default_rng(np.frombuffer(seed, dtype=np.uint32))

    def noise(self, table: str, shape: tuple[int, ...], sensitivity: float) -> np.ndarray:
        """Raw Laplace draws of one table (before rounding), shaped ``shape``."""
        return self.generator(table).laplace(0.0, self.scale(sensitivity), size=shape)

    def noisy_counts(self, table: str, values: np.ndarray, sensitivity: float) -> np.ndarray:
        """``values`` plus the table's noise, rounded to integers and clipped at 0."""
        counts = np.asarray(values, dtype=np.float64)
        noisy = counts + self.noise(table, counts.shape, sensitivity)
        return np.clip(np.rint(noisy), 0, None).astype(np.int64)

    def describe(self, sensitivities: dict[str, float]) -> dict[str, Any]:
        """What a report states about its release: ε, each table's ε, sensitivity and scale, the version."""
        return {
            "epsilon": self.epsilon,
            "version": self.version[:16],
            "tables": {
                t: {"epsilon": round(self.table_epsilon, 6), "sensitivity": float(s), "scale": round(self.scale(s), 6)}
                for t, s in sensitivities.items()
            },
        }


def roll_up(values: np.ndarray, parents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum rows of ``values`` per parent: the parent level of a table from its noisy child rows.

    Returns
    -------
    tuple of numpy.ndarray
        The sorted parent ids and the summed rows, in that order.
    """
    ids, inverse = np.unique(np.asarray(parents, dtype=object).astype(str), return_inverse=True)
    summed = np.zeros((len(ids), values.shape[1]), dtype=values.dtype)
    np.add.at(summed, inverse, values)
    return ids, summed


def project_to_totals(values: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Non-negative integers closest to ``values`` (in L2, column by column) whose columns sum to ``totals``.

    The Euclidean projection of each column onto the simplex ``{y >= 0, sum(y) = total}`` (``y = max(v - tau, 0)``),
    then rounded with the largest-remainder rule so the integers still sum to the total exactly.

    Parameters
    ----------
    values : numpy.ndarray
        Noisy child counts, one row per child, one column per cell (may be negative or fractional).
    totals : numpy.ndarray
        Non-negative integer totals, one per column (the parent's counts).

    Returns
    -------
    numpy.ndarray
        int64 array shaped like ``values``.
    """
    values = np.asarray(values, dtype=np.float64)
    totals = np.asarray(totals, dtype=np.float64)
    n = values.shape[0]
    if n == 0:
        return np.zeros(values.shape, dtype=np.int64)
    ordered = -np.sort(-values, axis=0)
    cumulative = np.cumsum(ordered, axis=0)
    j = np.arange(1, n + 1, dtype=np.float64)[:, None]
    positive = ordered - (cumulative - totals) / j > 0
    rho = np.where(positive.any(axis=0), n - 1 - np.argmax(positive[::-1], axis=0), 0)
    tau = (cumulative[rho, np.arange(values.shape[1])] - totals) / (rho + 1)
    projected = np.where(totals > 0, np.maximum(values - tau, 0.0), 0.0)
    floors = np.floor(projected)
    short = (totals - floors.sum(axis=0)).round().astype(np.int64)
    rank = np.argsort(np.argsort(-(projected - floors), axis=0, kind="stable"), axis=0, kind="stable")
    return (floors + (rank < short)).astype(np.int64)


class _DpSettings(BaseSettings):
    """The raw settings (``LINLI_*`` variables or ``.env``, like Linli's other settings); parsed here."""

    model_config = SettingsConfigDict(env_prefix="LINLI_", env_file=".env", extra="ignore")

    planner_epsilon: str | None = None
    planner_noise_key: str | None = None
    pseudonym_key: str | None = None


def _settings(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    if environ is not None:
        return environ
    read = _DpSettings()
    pairs = (
        (EPSILON_SETTING, read.planner_epsilon),
        (KEY_SETTING, read.planner_noise_key),
        (FALLBACK_KEY_SETTING, read.pseudonym_key),
    )
    return {name: value for name, value in pairs if value is not None}


def planner_dp(version: str, environ: Mapping[str, str] | None = None) -> PlannerDp | None:
    """The release settings in force (``LINLI_PLANNER_EPSILON``, ``LINLI_PLANNER_NOISE_KEY``), or ``None``.

    The noise key falls back to ``LINLI_PSEUDONYM_KEY``; with neither set, differential privacy cannot run.

    Raises
    ------
    PlannerPrivacyError
        ε is invalid, or set without a secret to seed the noise.
    """
    env = _settings(environ)
    epsilon = parse_epsilon(env.get(EPSILON_SETTING))
    if epsilon is None:
        return None
    key = env.get(KEY_SETTING) or env.get(FALLBACK_KEY_SETTING)
    if not key:
        raise PlannerPrivacyError(
            f"{EPSILON_SETTING} is set but neither {KEY_SETTING} nor {FALLBACK_KEY_SETTING} "
            "is: the noise needs a secret seed (`linli privacy keygen` prints one)"
        )
    return PlannerDp(epsilon, key.encode(), version)


def configured_epsilon(environ: Mapping[str, str] | None = None) -> float | None:
    """``LINLI_PLANNER_EPSILON`` of this process (checked), without building a release."""
    return parse_epsilon(_settings(environ).get(EPSILON_SETTING))
