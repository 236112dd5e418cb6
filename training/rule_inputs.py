"""Every resident's service-rule inputs, computed in training and stored beside the lists as Arrow IPC files.

``POST /requests`` ranks services a resident named in their own words with the recommender's rules
(:mod:`serving.resident_rules`). Their inputs are the cross features of the resident with every service: which
services the rules allow, why the others are not (:data:`REASONS`), which fit the resident's accessibility need,
and the resident's own :data:`recommenders.rules.RULE_RESIDENT_FEATURES`. Computing them is O(residents ×
services), so training does it once per bucket (:func:`training.batch_lists.write_bucket`) and serving
memory-maps the result; serving computes them itself only for a version stored without them.

A bucket's rule inputs are one file, ``rules-<bucket>.arrow``, with the rows of the bucket's lists file in the same
(hash) order (:data:`SCHEMA`): ``reason`` per service (an index into :data:`REASON_LIST`, −1 where allowed),
``fits`` per service (1 where ``accessibility_match`` is 1) and ``resident`` (the rules' resident inputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa

from features.columns import Columns as C
from recommenders.rules import RULE_RESIDENT_FEATURES
from training.bundle import ModelBundle

#: Why a rule keeps a service from a resident: rule input column → (code, English, Chinese).
REASONS: Final[dict[str, tuple[str, str, str]]] = {
    "age_match": ("age", "the resident's age is outside the service's age range", "年龄不符合该服务的条件"),
    "children_match": ("children", "the service is for households with children", "该服务面向有孩子的家庭"),
    "residency_match": ("residency", "the service requires another residence status",
                        "该服务对户籍或居住状态有要求，您的情况不符合"),
    "scope_match": ("community", "the service is not offered in the resident's community", "您所在的社区未提供该服务"),
}
#: A one-off service the resident has already used.
USED_ONE_OFF: Final = ("used_one_off", "a one-off service the resident has already used",
                       "该服务只办理一次，您已办理过")
#: Reason codes of the stored table: index into this tuple, −1 where the service is allowed.
REASON_LIST: Final = (*REASONS.values(), USED_ONE_OFF)
#: Residents whose rule inputs are computed together (one vectorised call each).
BATCH: Final = 2000
SCHEMA: Final = pa.schema(
    [
        ("resident_hash", pa.uint64()),
        ("reason", pa.list_(pa.int8())),
        ("fits", pa.list_(pa.uint8())),
        ("resident", pa.list_(pa.float64())),
    ]
)


def rules_file(bucket: int) -> str:
    """File name of one bucket's rule inputs."""
    return f"rules-{bucket:05d}.arrow"


@dataclass(frozen=True)
class RuleInputs:
    """Rule inputs of some residents, one row each (residents × services arrays).

    Attributes
    ----------
    reason : ndarray of int8, shape (residents, services)
        Index into :data:`REASON_LIST` of why a service is not allowed, −1 where it is.
    fits : ndarray of uint8, shape (residents, services)
        1 where the service fits the resident's accessibility need (``accessibility_match`` is 1).
    resident : ndarray of float64, shape (residents, len(RULE_RESIDENT_FEATURES))
    """

    reason: np.ndarray
    fits: np.ndarray
    resident: np.ndarray

    @property
    def allowed(self) -> np.ndarray:
        """Services the rules allow (bool, residents × services)."""
        return self.reason < 0

    def to_table(self, hashes: np.ndarray) -> pa.Table:
        """The :data:`SCHEMA` table of these rows, keyed by ``hashes`` (the lists file's order)."""
        n, m = self.reason.shape
        width = len(RULE_RESIDENT_FEATURES)

        def lists(values: np.ndarray, size: int) -> pa.Array:
            offsets = pa.array(np.arange(n + 1, dtype=np.int32) * size)
            return pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1)))

        columns = [pa.array(np.asarray(hashes, dtype=np.uint64)), lists(self.reason, m), lists(self.fits, m),
                   lists(self.resident.astype(np.float64), width)]
        return pa.Table.from_arrays(columns, schema=SCHEMA)

    @classmethod
    def of_table(cls, table: pa.Table, services: int) -> RuleInputs:
        """Numpy views of a :data:`SCHEMA` table (zero-copy for a memory-mapped one)."""
        n = table.num_rows

        def values(name: str, width: int) -> np.ndarray:
            column = table.column(name)
            chunk = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
            flat = chunk.values.to_numpy()
            if len(flat) != n * width:
                raise ValueError(f"rule inputs: column {name} holds {len(flat)} values for {n} rows of {width}")
            return flat.reshape(n, width)

        return cls(reason=values("reason", services), fits=values("fits", services),
                   resident=values("resident", len(RULE_RESIDENT_FEATURES)))


def compute(bundle: ModelBundle, resident_ids: np.ndarray, batch: int = BATCH) -> RuleInputs:
    """The rule inputs of known residents (in the given order), ``batch`` residents per vectorised call.

    Parameters
    ----------
    bundle : ModelBundle
    resident_ids : ndarray of str
        Residents the bundle knows.
    batch : int
        Residents per call (its memory grows with residents × services).
    """
    rules = bundle.rules().without_diversity()
    services = bundle.service_ids().to_numpy(dtype=object)
    m, n = len(services), len(resident_ids)
    reason = np.full((n, m), -1, dtype=np.int8)
    fits = np.zeros((n, m), dtype=np.uint8)
    resident = np.zeros((n, len(RULE_RESIDENT_FEATURES)), dtype=np.float64)
    for start in range(0, n, batch):
        ids = np.asarray(resident_ids[start:start + batch], dtype=object)
        b = len(ids)
        pairs = pd.DataFrame({C.RESIDENT: np.repeat(ids, m), C.SERVICE: np.tile(services, b)})
        cross = bundle.cross_features(pairs)
        ok = rules.allowed(cross, (b, m))
        reason[start:start + b] = _reasons(cross, ok, rules.config.unknown_is_eligible)
        fits[start:start + b] = cross["accessibility_match"].to_numpy(dtype=np.float64).reshape(b, m) == 1
        resident[start:start + b] = bundle.rule_residents(ids).to_numpy(dtype=np.float64, na_value=np.nan)
    return RuleInputs(reason=reason, fits=fits, resident=resident)


def _reasons(cross: pd.DataFrame, allowed: np.ndarray, unknown_ok: bool) -> np.ndarray:
    """Per pair, the index in :data:`REASON_LIST` of the first rule input that excludes it (a used one-off service
    when none does), −1 where allowed."""
    out = np.where(allowed, -1, len(REASON_LIST) - 1).astype(np.int8)
    undecided = ~allowed
    for code, name in enumerate(REASONS):
        value = cross[name].to_numpy(dtype=np.float64).reshape(allowed.shape)
        fails = undecided & (value != 1) & ~(np.isnan(value) & unknown_ok)
        out[fails] = code
        undecided &= ~fails
    return out


__all__ = ["REASONS", "REASON_LIST", "SCHEMA", "USED_ONE_OFF", "RuleInputs", "compute", "rules_file"]
