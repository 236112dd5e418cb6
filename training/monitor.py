"""The online monitor: daily online metrics of every served model version, logged to that version's MLflow run.

Each day bucket (Asia/Shanghai local midnight to midnight, on ``served_at``) of each version becomes one point per
metric, key ``online.<variant>.<persona>.<metric>`` (persona ``all`` plus every persona tag), with
``step`` = the day's number since 1970-01-01 and ``timestamp`` = the end of the day, so MLflow's charts show each
version against its feedback over time.

Final buckets only: a day is logged once it ended at least ``settle`` ago (default one day), so late feedback on
its lists is in; a logged day is never logged again. The watermark is the run's own metric history: the marker
metric ``online.day_logged`` (step = day) is written after a day's points, days are logged in order, and for
the first day without a marker (the only one a run interrupted half-way can have left half-logged) the monitor
skips every ``(key, step)`` already in the history — so rerunning never leaves a point twice. Run one monitor at
a time per tracking store (a cron job or a systemd timer). Keeping the watermark in MLflow, rather than in a table
of the feedback store, keeps it next to the points it describes: deleting or restoring a run, or pointing the
monitor at another store, cannot desynchronise them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException

from features.local_time import TIMEZONE
from training.online_metrics import (
    ALL,
    MODEL_VERSION,
    PERSONA,
    RATIOS,
    SERVED_AT,
    VARIANT,
    json_ready,
    local_time,
    online_metrics,
)

PREFIX: Final = "online"
MARKER: Final = f"{PREFIX}.day_logged"
DAY: Final = "day"
LOGGED_METRICS: Final = ("lists", "impressions", "residents", "clicks", "bookings", "uses", "ratings", *RATIOS,
                         "coverage")
_BATCH: Final = 1000  # MLflow's limit of metrics per log_batch
_EPOCH: Final = pd.Timestamp("1970-01-01")


class FeedbackSource(Protocol):
    """What the monitor reads: a :class:`serving.store.FeedbackStore` or anything with the same two methods."""

    def served(self, since: datetime | str | None = None) -> pd.DataFrame: ...

    def events(self, since: datetime | str | None = None) -> pd.DataFrame: ...


@dataclass
class VersionLog:
    """What the monitor did for one model version."""

    model_version: str
    run_id: str | None
    logged_days: list[str] = field(default_factory=list)
    points: int = 0
    already_logged_days: int = 0
    pending_days: list[str] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class MonitorReport:
    """The outcome of one :func:`monitor` call.

    Attributes
    ----------
    now, window_start, final_until : str
        The clock, the window start, and the end of the last final day (days before it are logged).
    versions : list of VersionLog
    summary : list of dict
        Online metrics over the whole window (final and pending days) per version, variant and persona,
        with 95 % resident-clustered intervals.
    personas : str
        Where the persona tags came from (or why there are none).
    """

    model_name: str
    now: str
    window_start: str
    final_until: str
    versions: list[VersionLog]
    summary: list[dict[str, Any]]
    personas: str

    @property
    def points(self) -> int:
        """Metric points logged by this call."""
        return sum(v.points for v in self.versions)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN as ``None``), with ``points``."""
        return json_ready({**asdict(self), "points": self.points})

    def table(self) -> str:
        """Human-readable: what was logged per version, then the window's metrics."""
        lines = [f"{self.model_name}: lists served {self.window_start[:10]} → {self.now[:16]}; days before "
                 f"{self.final_until[:10]} are final; personas: {self.personas}"]
        for v in self.versions:
            if v.skipped:
                lines.append(f"  version {v.model_version}: skipped — {v.skipped}")
                continue
            done = (f"logged {v.points} points for {', '.join(v.logged_days)}" if v.logged_days
                    else "logged 0 points (nothing new)")
            lines.append(f"  version {v.model_version} (run {v.run_id}): {done}; {v.already_logged_days} day(s) "
                         f"logged before; not final yet: {', '.join(v.pending_days) or 'none'}")
        rows = [r for r in self.summary if r.get(PERSONA, ALL) == ALL] or self.summary
        if rows:
            lines += ["", f"{'version':<9}{'variant':<12}{'residents':>10}{'lists':>8}{'impr.':>8}{'ctr':>8}"
                      f"{'book':>8}{'use':>8}{'rating':>8}{'coverage':>10}"]
            for r in rows:
                lines.append(f"{r[MODEL_VERSION]!s:<9}{r[VARIANT]!s:<12}{r['residents']:>10}{r['lists']:>8}"
                             f"{r['impressions']:>8}" + "".join(f"{_num(r[m]):>8}" for m in RATIOS)
                             + f"{_num(r['coverage']):>10}")
        return "\n".join(lines)


def monitor(store: FeedbackSource, tracking_uri: str, model_name: str, *, window: timedelta = timedelta(days=30),
            now: datetime | str | None = None, settle: timedelta = timedelta(days=1),
            personas: pd.Series | pd.DataFrame | None = None, persona_alias: str | None = "champion",
            catalogue_size: int | None = None) -> MonitorReport:
    """Log the final day buckets of the last ``window`` to each served version's MLflow run (incremental, idempotent).

    Parameters
    ----------
    store : FeedbackStore
        The feedback store (``served()`` and ``events()`` are read).
    tracking_uri : str
        MLflow tracking and registry URI.
    model_name : str
        Registered model whose versions served the lists.
    window : timedelta, default 30 days
        How far back to look; older days that were never logged stay unlogged.
    now : datetime or str, optional
        The clock (naive Asia/Shanghai local time; aware values are converted); default the current time. With an
        explicit ``now`` (a replay, a simulation) all events are read, since they need not be on the same clock.
    settle : timedelta, default 1 day
        How long after a day ends its feedback is still awaited; the day is logged after that, once.
    personas : pandas.Series or pandas.DataFrame, optional
        Resident → persona (see :func:`training.online_metrics.persona_pairs`).
    persona_alias : str or None, default "champion"
        Without ``personas``, take the persona tags of this alias's bundle (``None``: only ``all``).
    catalogue_size : int, optional
        Denominator of coverage (default: the catalogue of the ``persona_alias`` bundle, else the services
        shown in the window).

    Returns
    -------
    MonitorReport
    """
    clock = local_time(now) if now is not None else pd.Timestamp.now(tz=TIMEZONE).tz_localize(None)
    window_start = (clock - window).floor("D")
    final_until = (clock - settle).floor("D")
    served = store.served(since=window_start.to_pydatetime())
    events = store.events(since=None if now is not None else window_start.to_pydatetime())
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    if personas is None and persona_alias is not None and len(served):
        personas, services, source = _alias_personas(client, tracking_uri, model_name, persona_alias)
        catalogue_size = catalogue_size or services
    else:
        source = "given" if personas is not None else "none"
    served = served.assign(**{DAY: served[SERVED_AT].dt.floor("D")})
    daily = online_metrics(served, events, by=(MODEL_VERSION, VARIANT, DAY), personas=personas, since=window_start,
                           until=clock, catalogue_size=catalogue_size)
    if PERSONA not in daily.columns:
        daily[PERSONA] = ALL
    summary = online_metrics(served, events, personas=personas, since=window_start, until=clock,
                             catalogue_size=catalogue_size, confidence=0.95)
    groups = sorted(daily.groupby(MODEL_VERSION, sort=False), key=lambda g: (len(str(g[0])), str(g[0])))
    versions = [_log_version(client, model_name, str(version), rows, final_until) for version, rows in groups]
    return MonitorReport(model_name=model_name, now=str(clock), window_start=str(window_start),
                         final_until=str(final_until), versions=versions,
                         summary=[json_ready(r) for r in summary.to_dict("records")], personas=source)


def day_step(day: pd.Timestamp) -> int:
    """The MLflow ``step`` of a day bucket: days since 1970-01-01."""
    return int((day.floor("D") - _EPOCH).days)


def day_end_ms(day: pd.Timestamp) -> int:
    """The MLflow ``timestamp`` of a day bucket: the end of the (Asia/Shanghai) day, in epoch milliseconds."""
    return int((day.floor("D") + pd.Timedelta(days=1)).tz_localize(TIMEZONE).timestamp() * 1000)


def metric_name(variant: str, persona: str, metric: str) -> str:
    """``online.<variant>.<persona>.<metric>`` with characters MLflow refuses replaced by ``_``."""
    parts = ["".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in str(p)) for p in (variant, persona)]
    return f"{PREFIX}.{parts[0]}.{parts[1]}.{metric}"


def _log_version(client: MlflowClient, model_name: str, version: str, rows: pd.DataFrame,
                 final_until: pd.Timestamp) -> VersionLog:
    try:
        run_id = client.get_model_version(model_name, version).run_id
    except MlflowException:
        run_id = None
    if not run_id:
        return VersionLog(version, None, skipped=f"version {version} of {model_name} is not in the registry")
    done = {m.step for m in client.get_metric_history(run_id, MARKER)}
    days = sorted(rows[DAY].unique())
    log = VersionLog(version, run_id, pending_days=[d.date().isoformat() for d in days if d >= final_until])
    todo = [d for d in days if d < final_until and day_step(d) not in done]
    log.already_logged_days = sum(1 for d in days if d < final_until and day_step(d) in done)
    for index, day in enumerate(todo):
        points = list(_points(rows[rows[DAY] == day], day))
        # Days are logged in order, each closed by its marker: only the first day without one can be half-logged.
        seen = _history(client, run_id, {p.key for p in points}, day_step(day)) if index == 0 else set()
        fresh = [p for p in points if p.key not in seen]
        for start in range(0, len(fresh), _BATCH):
            client.log_batch(run_id, metrics=fresh[start:start + _BATCH])
        impressions = float(rows.loc[(rows[DAY] == day) & (rows[PERSONA] == ALL), "impressions"].sum())
        client.log_batch(run_id, metrics=[Metric(MARKER, impressions, day_end_ms(day), day_step(day))])
        log.logged_days.append(day.date().isoformat())
        log.points += len(fresh)
    if todo:
        client.set_tag(run_id, "linli.online.logged_through", max(log.logged_days))
    return log


def _points(rows: pd.DataFrame, day: pd.Timestamp) -> Iterable[Metric]:
    step, stamp = day_step(day), day_end_ms(day)
    for row in rows.to_dict("records"):
        for metric in LOGGED_METRICS:
            value = row[metric]
            if value == value:  # NaN (e.g. mean_rating without ratings) is not logged
                yield Metric(metric_name(row[VARIANT], row[PERSONA], metric), float(value), stamp, step)


def _history(client: MlflowClient, run_id: str, keys: set[str], step: int) -> set[str]:
    """Keys among ``keys`` that already have a point at ``step`` (a half-logged day)."""
    logged = set(client.get_run(run_id).data.metrics)
    return {key for key in keys & logged if any(m.step == step for m in client.get_metric_history(run_id, key))}


def _alias_personas(client: MlflowClient, tracking_uri: str, model_name: str,
                    alias: str) -> tuple[pd.DataFrame | None, int | None, str]:
    """The persona tags and catalogue size (services) of the alias's bundle, and where they came from."""
    from training.tracking import connect, load_bundle, version_by_alias

    if version_by_alias(client, model_name, alias) is None:
        return None, None, f"none ({model_name} has no version with alias {alias!r})"
    try:
        connect(tracking_uri)
        bundle = load_bundle(model_name, alias)
        tags = bundle.profile.personas.tags
        services = len(bundle.service_ids())
    except Exception as exc:  # an unreadable bundle: metrics without personas still help
        return None, None, f"none ({model_name}@{alias} has no readable persona tags: {type(exc).__name__}: {exc})"
    return tags, services, f"{model_name}@{alias}"


def _num(value: Any) -> str:
    return "—" if value is None or value != value else f"{value:.4f}"


__all__ = ["MARKER", "FeedbackSource", "MonitorReport", "VersionLog", "day_end_ms", "day_step",
           "metric_name", "monitor"]
