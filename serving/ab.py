"""A/B assignment: which residents the challenger serves.

A resident's arm is a pure function of the resident id, a salt and the share, so it is sticky across
requests, processes and restarts, and needs no storage: ``sha256(salt:resident_id)`` read as a number in
``[0, 1)`` below the share means challenger. Raising the share only moves residents from champion to
challenger (never back), so a ramp-up keeps everyone's earlier experience consistent.
"""

from __future__ import annotations

import hashlib
from typing import Final

_SCALE: Final = float(2**64)


def bucket(resident_id: str, salt: str) -> float:
    """The resident's position in ``[0, 1)`` for ``salt`` (uniform over residents, fixed per resident)."""
    digest = hashlib.sha256(f"{salt}:{resident_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def in_challenger(resident_id: str, share: float, salt: str) -> bool:
    """Whether the resident is routed to the challenger when ``share`` of residents are.

    Parameters
    ----------
    resident_id : str
        Pseudonymous resident id, as the API receives it.
    share : float
        Share of residents in the challenger arm, 0–1.
    salt : str
        Experiment salt (``LINLI_AB_SALT``).
    """
    if not 0 <= share <= 1:
        raise ValueError(f"challenger share must be between 0 and 1, got {share}")
    return share > 0 and bucket(resident_id, salt) < share


__all__ = ["bucket", "in_challenger"]
