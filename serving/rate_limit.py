"""Per-key rate limits and a brake on key guessing: token buckets, in the process or shared by every process.

Every key has a bucket sized by its role (``LINLI_RATE_LIMIT_<ROLE>`` requests per second, bursts of
``LINLI_RATE_BURST_SECONDS`` times that); a request finding it empty is answered 429 with ``Retry-After``.
Every client address has a bucket of failed sign-ins (``LINLI_AUTH_FAILURES_PER_MINUTE``): once it is
empty, requests from that address are answered 429 *before* their key is checked, so guessing gains no
information. By default the buckets live in the process (thread-safe); with N server processes a key would
then get N times its rate, so ``LINLI_RATE_LIMIT_STORE`` names a store all processes share (a SQL table or
Redis, :mod:`serving.rate_limit_store`), and ``linli serve --workers N`` (N > 1) defaults it to a SQLite file.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from serving.rate_limit_store import Buckets, shared_buckets

logger = logging.getLogger(__name__)

#: Most buckets kept per kind; the least recently used are dropped past it (a full bucket is the default).
MAX_BUCKETS: Final = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets keyed by name, all with one rate and capacity.

    Parameters
    ----------
    rate : float
        Tokens added per second.
    capacity : float
        Most tokens a bucket holds (the burst).
    """

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, capacity)
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, name: str, tokens: float = 1.0, now: float | None = None) -> float:
        """Take ``tokens`` from bucket ``name``; 0 when granted, else the seconds until they would be."""
        return self._use(name, tokens, now, take=True)

    def wait(self, name: str, now: float | None = None) -> float:
        """Seconds until bucket ``name`` holds a token again (0 when it does); nothing is taken."""
        return self._use(name, 1.0, now, take=False)

    def _use(self, name: str, tokens: float, now: float | None, *, take: bool) -> float:
        moment = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                bucket = _Bucket(self.capacity, moment)
                self._buckets[name] = bucket
                if len(self._buckets) > MAX_BUCKETS:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(name)
            bucket.tokens = min(self.capacity, bucket.tokens + (moment - bucket.updated) * self.rate)
            bucket.updated = moment
            if bucket.tokens >= tokens:
                if take:
                    bucket.tokens -= tokens
                return 0.0
            return (tokens - bucket.tokens) / self.rate if self.rate > 0 else math.inf


class RateLimiter:
    """Per-key buckets by role and per-address buckets of failed sign-ins.

    Parameters
    ----------
    per_role : dict of str to float
        Requests per second allowed to one key of each role.
    burst_seconds : float
        A key's bucket holds this many seconds of its rate.
    failures_per_minute : float
        Failed sign-ins allowed per client address per minute (the bucket holds one minute's worth).
    store : str, optional
        Where the buckets live when several processes must share them: a SQL URL or ``redis://…``
        (:func:`serving.rate_limit_store.shared_buckets`); ``None`` or ``"memory"`` keeps them in this process.
    """

    def __init__(self, per_role: dict[str, float], burst_seconds: float, failures_per_minute: float,
                 store: str | None = None) -> None:
        def buckets(kind: str, rate: float, capacity: float) -> Buckets:
            if store is None or store == "memory":
                return TokenBuckets(rate, capacity)
            return shared_buckets(store, kind, rate, capacity)

        self.store = store or "memory"
        self.keys = {role: buckets(f"key:{role}", rate, rate * burst_seconds) for role, rate in per_role.items()}
        self.failures = buckets("failures", failures_per_minute / 60, failures_per_minute)
        self._warned = -math.inf

    def take(self, key_id: str, role: str) -> float:
        """Take one request from the key's bucket: 0 when allowed, else seconds to wait."""
        return self._safely(lambda: self.keys[role].take(key_id))

    def blocked(self, address: str) -> float:
        """Seconds until ``address`` may try a key again (0 when it may now)."""
        return self._safely(lambda: self.failures.wait(address))

    def failed(self, address: str) -> None:
        """Count a failed sign-in from ``address``."""
        self._safely(lambda: self.failures.take(address))

    def _safely(self, use: Callable[[], float]) -> float:
        """``use()``; when the shared store is out of reach, 0 (the request passes) and a warning a minute."""
        try:
            return use()
        except Exception as exc:  # SQL or Redis errors: limits must not take the API down with their store
            now = time.monotonic()
            if now - self._warned > 60:
                self._warned = now
                logger.warning("rate-limit store unavailable, requests pass unlimited: %s", type(exc).__name__)
            return 0.0


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)) if math.isfinite(seconds) else 3600)


__all__ = ["MAX_BUCKETS", "RateLimiter", "TokenBuckets", "retry_after"]
