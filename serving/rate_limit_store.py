"""Token buckets shared by every server process: in a SQL table (one atomic upsert per request) or in Redis
(one Lua script per request).

``linli serve --workers N`` runs N processes; buckets kept in each process would let a key send N times its rate
and a guesser try N times as many keys. These buckets live outside the processes, named by ``LINLI_RATE_LIMIT_STORE``:

* ``sqlite:///PATH`` or ``postgresql+psycopg://…``: a table ``rate_buckets`` (kind, name, tokens, updated,
  granted). One ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` refills, takes and answers in one statement, so
  concurrent processes never both take the last token. SQLite runs with ``synchronous=OFF``: a bucket lost in a
  machine crash is only a refilled bucket.
* ``redis://HOST:PORT/DB``: a hash per bucket, refilled and taken by one Lua script (atomic in Redis), expiring once
  it would be full again.

Both use the wall clock (``time.time()``), which all processes on a machine share. ``docs/operations.md`` has the
cost of each per request.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any, Final, Protocol

import sqlalchemy as sa
from sqlalchemy import event as sa_event

#: Takes between two sweeps of buckets that have been full long enough to be dropped.
SWEEP_EVERY: Final = 2000

_LUA: Final = """
local rate, cap, n, now, take = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
    tonumber(ARGV[5])
local held = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens, updated = tonumber(held[1]) or cap, tonumber(held[2]) or now
if now > updated then tokens = math.min(cap, tokens + (now - updated) * rate); updated = now end
local ok = 0
if tokens >= n then ok = 1; if take == 1 then tokens = tokens - n end end
if take == 1 or held[1] then
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(updated))
  redis.call('PEXPIRE', KEYS[1], math.ceil((cap - tokens) / rate * 1000) + 1000)
end
return {ok, tostring(tokens)}
"""


class Buckets(Protocol):
    """What :class:`serving.rate_limit.RateLimiter` needs of a set of buckets."""

    def take(self, name: str, tokens: float = 1.0, now: float | None = None) -> float: ...

    def wait(self, name: str, now: float | None = None) -> float: ...


def _wait(tokens: float, held: float, rate: float) -> float:
    return (tokens - held) / rate if rate > 0 else math.inf


class SqlBuckets:
    """Buckets of one ``kind`` in a SQL table, all with one rate and capacity.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        From :func:`sql_engine` (shared by every kind of one limiter).
    kind : str
        Which buckets (``key:platform``, ``failures``); names are unique within a kind.
    rate, capacity : float
        Tokens per second, most tokens held.
    """

    def __init__(self, engine: sa.Engine, kind: str, rate: float, capacity: float) -> None:
        self.engine, self.kind, self.rate, self.capacity = engine, kind, rate, max(1.0, capacity)
        self._takes = 0
        refill = (
            "CASE WHEN rate_buckets.tokens + (:now - rate_buckets.updated) * :rate > :cap THEN :cap "
            "ELSE rate_buckets.tokens + (:now - rate_buckets.updated) * :rate END"
        )
        refilled = f"CASE WHEN :now > rate_buckets.updated THEN {refill} ELSE rate_buckets.tokens END"
        self._take = sa.text(
            "INSERT INTO rate_buckets (kind, name, tokens, updated, granted) VALUES (:kind, :name, :cap - :n, :now, 1) "
            "ON CONFLICT (kind, name) DO UPDATE SET "
            f"tokens = CASE WHEN {refilled} >= :n THEN {refilled} - :n ELSE {refilled} END, "
            f"granted = CASE WHEN {refilled} >= :n THEN 1 ELSE 0 END, "
            "updated = CASE WHEN :now > rate_buckets.updated THEN :now ELSE rate_buckets.updated END "
            "RETURNING tokens, granted"
        )
        self._read = sa.text("SELECT tokens, updated FROM rate_buckets WHERE kind = :kind AND name = :name")
        self._sweep = sa.text("DELETE FROM rate_buckets WHERE kind = :kind AND updated < :before")

    def take(self, name: str, tokens: float = 1.0, now: float | None = None) -> float:
        """Take ``tokens`` from bucket ``name``; 0 when granted, else the seconds until they would be."""
        moment = time.time() if now is None else now
        params = {"kind": self.kind, "name": name, "n": tokens, "now": moment, "rate": self.rate, "cap": self.capacity}
        with self.engine.begin() as conn:
            held, granted = conn.execute(self._take, params).one()
            self._takes += 1
            if self._takes % SWEEP_EVERY == 0:  # a bucket full for a while is the same as no bucket
                conn.execute(self._sweep, {"kind": self.kind, "before": moment - self.capacity / self.rate - 60})
        return 0.0 if granted else _wait(tokens, float(held), self.rate)

    def wait(self, name: str, now: float | None = None) -> float:
        """Seconds until bucket ``name`` holds a token again (0 when it does); nothing is taken."""
        moment = time.time() if now is None else now
        with self.engine.connect() as conn:
            row = conn.execute(self._read, {"kind": self.kind, "name": name}).first()
        if row is None:
            return 0.0
        held = min(self.capacity, float(row[0]) + max(0.0, moment - float(row[1])) * self.rate)
        return 0.0 if held >= 1.0 else _wait(1.0, held, self.rate)


class RedisBuckets:
    """Buckets of one ``kind`` in Redis (keys ``linli:rate:<kind>:<name>``), all with one rate and capacity.

    Parameters
    ----------
    client : redis.Redis
    kind : str
    rate, capacity : float
    """

    def __init__(self, client: Any, kind: str, rate: float, capacity: float) -> None:
        self.client, self.kind, self.rate, self.capacity = client, kind, rate, max(1.0, capacity)
        self._script = client.register_script(_LUA)

    def _run(self, name: str, tokens: float, now: float | None, take: bool) -> float:
        moment = time.time() if now is None else now
        ok, held = self._script(
            keys=[f"linli:rate:{self.kind}:{name}"], args=[self.rate, self.capacity, tokens, moment, int(take)]
        )
        return 0.0 if int(ok) else _wait(tokens, float(held), self.rate)

    def take(self, name: str, tokens: float = 1.0, now: float | None = None) -> float:
        """Take ``tokens`` from bucket ``name``; 0 when granted, else the seconds until they would be."""
        return self._run(name, tokens, now, True)

    def wait(self, name: str, now: float | None = None) -> float:
        """Seconds until bucket ``name`` holds a token again (0 when it does); nothing is taken."""
        return self._run(name, 1.0, now, False)


_ENGINES: dict[str, sa.Engine] = {}
_ENGINES_LOCK = threading.Lock()


def sql_engine(url: str) -> sa.Engine:
    """An engine on ``url`` with the ``rate_buckets`` table created (one per URL and process).

    Raises
    ------
    ValueError
        If ``url`` is neither SQLite with a file nor PostgreSQL.
    """
    with _ENGINES_LOCK:
        if url in _ENGINES:
            return _ENGINES[url]
        parsed = sa.make_url(url)
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                raise ValueError(f"LINLI_RATE_LIMIT_STORE {url!r}: SQLite needs a file path")
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            engine = sa.create_engine(
                parsed, connect_args={"timeout": 10, "check_same_thread": False}, pool_size=8, max_overflow=8
            )
            sa_event.listen(engine, "connect", _sqlite_pragmas)
            sa_event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        elif backend == "postgresql":
            engine = sa.create_engine(parsed, pool_pre_ping=True, pool_size=8, max_overflow=8)
        else:
            raise ValueError(
                f"LINLI_RATE_LIMIT_STORE {url!r}: use sqlite:///FILE, postgresql+psycopg://… or redis://HOST:PORT"
            )
        metadata = sa.MetaData()
        sa.Table(
            "rate_buckets",
            metadata,
            sa.Column("kind", sa.String(32), primary_key=True),
            sa.Column("name", sa.String(128), primary_key=True),
            sa.Column("tokens", sa.Float, nullable=False),
            sa.Column("updated", sa.Float, nullable=False),
            sa.Column("granted", sa.Integer, nullable=False),
        )
        with engine.begin() as conn:
            metadata.create_all(conn, checkfirst=True)
        _ENGINES[url] = engine
        return engine


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    dbapi_connection.isolation_level = None  # BEGIN IMMEDIATE is sent on begin (see sql_engine)
    for pragma in ("journal_mode=WAL", "synchronous=OFF", "busy_timeout=10000"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def redis_client(url: str) -> Any:
    """A Redis client for ``url`` (checked with a ping).

    Raises
    ------
    ValueError
        If Redis does not answer at ``url``.
    """
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ValueError(f"LINLI_RATE_LIMIT_STORE: no Redis answers at {_shown(url)}: {exc}") from exc
    return client


def _shown(url: str) -> str:
    """``url`` without a password."""
    return sa.make_url(url).render_as_string(hide_password=True) if "@" in url else url


def shared_buckets(url: str, kind: str, rate: float, capacity: float) -> Buckets:
    """Buckets of ``kind`` in the store named by ``url`` (``redis://``, ``rediss://``, or a SQL URL)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBuckets(_redis(url), kind, rate, capacity)
    return SqlBuckets(sql_engine(url), kind, rate, capacity)


_CLIENTS: dict[str, Any] = {}


def _redis(url: str) -> Any:
    with _ENGINES_LOCK:
        if url not in _CLIENTS:
            _CLIENTS[url] = redis_client(url)
        return _CLIENTS[url]


__all__ = ["Buckets", "RedisBuckets", "SqlBuckets", "redis_client", "shared_buckets", "sql_engine"]
