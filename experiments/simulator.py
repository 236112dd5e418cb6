"""The closed-loop simulator: synthetic residents use Linli's API for days; Linli retrains nightly from their feedback.

Each simulated day a sample of residents asks the API for recommendations (HTTP, platform key), reacts to the
served lists by their true preferences (:mod:`experiments.simulated_residents`) and posts the feedback. At
the end of the day Linli retrains on its history plus all feedback (:func:`training.retrain.train` with the
feedback store), the promotion gate decides (offline metrics, and online CTR against the off-policy estimate),
and a promoted version is swapped in with ``POST /models/reload``. The models never read the ground truth.

Linli is deployed with a short history (``history_weeks`` of the community's logs, the rest dropped): a
platform in its first weeks, where the feedback of each day adds much to what the model knows.

Run: ``linli simulate --data DIR --days N`` (DIR from ``linli generate``). Without ``--url`` it starts
``linli serve`` on a free loopback port with its own data folder (MLflow store, feedback store, keys), trains
the first version, and stops the server at the end.
"""

from __future__ import annotations

import math
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import pandas as pd

from experiments.local_server import LocalServer, start_server
from experiments.simulated_residents import SimulatedResidents, TruePreferences
from features.columns import Columns as C
from features.dataset import Dataset
from features.sources import load_folder
from serving.store import FeedbackStore
from training.config import TrainConfig
from training.feedback_data import FeedbackLog
from training.online_gate import observed_ctr
from training.online_metrics import MODEL_VERSION, REQUEST_ID, VARIANT, online_metrics, z_value
from training.retrain import train

SIMULATE_CONFIG: Final = Path(__file__).with_name("configs") / "simulate.toml"
_BATCH_RESIDENTS: Final = 100
_BATCH_EVENTS: Final = 1000
_COUNTS: Final = ("lists", "impressions", "clicks")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class SimulationConfig:
    """What one simulation runs.

    Attributes
    ----------
    data : Path
        A community folder written by ``linli generate`` (with ``ground_truth.parquet``).
    days : int
        Simulated days; Linli retrains at the end of every day but the last.
    residents_per_day : int
        Residents who ask for recommendations each day (each gets one list).
    history_weeks : int
        Weeks of the community's logs Linli starts with (the latest ones).
    k : int
        List length requested.
    seed : int
        Seed of the simulated residents and of training.
    needs_per_visit : int
        Services a resident is looking for when opening the app (see :class:`SimulatedResidents`).
    url : str, optional
        A running Linli API; then ``keys``, ``tracking_uri`` and ``store_url`` must say where its parts are.
    workdir : Path, optional
        Data folder of the API the simulator starts (default: a temporary folder, removed at the end).
    train_config : Path
        Training config of every retrain (default ``experiments/configs/simulate.toml``).
    """

    data: Path
    days: int = 5
    residents_per_day: int = 2000
    history_weeks: int = 4
    k: int = 10
    seed: int = 42
    needs_per_visit: int = 3
    url: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    tracking_uri: str | None = None
    store_url: str | None = None
    model_name: str = "linli-recommender"
    workdir: Path | None = None
    train_config: Path = SIMULATE_CONFIG


class SimulationError(RuntimeError):
    """The simulation cannot run (bad input, the API refused a call); the message says which and why."""


def parse_keys(text: str) -> dict[str, str]:
    """Role → key from ``LINLI_API_KEYS`` text (``role:key`` pairs separated by commas or new lines)."""
    keys: dict[str, str] = {}
    for part in text.replace("\n", ",").split(","):
        role, sep, key = part.strip().partition(":")
        if sep and key.strip() and not role.startswith("#"):
            keys.setdefault(role.strip(), key.strip())
    if "admin" in keys:  # an admin key may call everything
        keys.setdefault("platform", keys["admin"])
    return keys


def short_history(dataset: Dataset, weeks: int) -> Dataset:
    """``dataset`` with only its last ``weeks`` of interactions (Linli's first weeks on a platform)."""
    start = dataset.history_end() - pd.Timedelta(weeks=weeks)
    recent = dataset.interactions[dataset.interactions[C.TIMESTAMP] >= start]
    return Dataset.from_frames(dataset.residents, dataset.communities, dataset.services, recent)


def run(config: SimulationConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Run the simulation; returns the report (``days``: one row per day, ``versions``: CTR per model version).

    Raises
    ------
    SimulationError
        Bad parameters, a missing ground truth, or an API call that failed.
    """
    if config.days < 1 or config.residents_per_day < 1 or config.history_weeks < 1:
        raise SimulationError("days, residents_per_day and history_weeks must all be at least 1")
    say = progress or (lambda _line: None)
    started = time.perf_counter()
    truth = TruePreferences.read(config.data)
    history = short_history(load_folder(config.data), config.history_weeks)
    train_config = TrainConfig.from_toml(config.train_config).with_seed(config.seed)
    with _deployment(config, history, train_config, say) as api:
        rows = _loop(config, api, history, train_config, SimulatedResidents(truth, config.seed, config.needs_per_visit),
                     say)
        versions = _by_version(api.store)
    return {"days": rows, "versions": versions, "comparison": _comparison(versions),
            "residents_per_day": config.residents_per_day, "history_weeks": config.history_weeks,
            "history_interactions": len(history.interactions), "seconds": round(time.perf_counter() - started, 1)}


@dataclass
class _Api:
    url: str
    keys: dict[str, str]
    tracking_uri: str
    store: FeedbackStore
    model_name: str
    artifact_location: str | None

    def call(self, method: str, path: str, role: str, body: Any = None, timeout: float = 600) -> Any:
        response = httpx.request(method, f"{self.url}{path}", json=body, timeout=timeout,
                                 headers={"X-API-Key": self.keys[role]})
        if response.status_code >= 300:
            raise SimulationError(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()


@contextmanager
def _deployment(config: SimulationConfig, history: Dataset, train_config: TrainConfig, say: Progress
                ) -> Iterator[_Api]:
    if config.url:
        missing = [r for r in ("platform", "admin") if r not in config.keys]
        if missing or not config.tracking_uri or not config.store_url:
            raise SimulationError(f"with --url, give the API's keys ({', '.join(missing) or 'ok'}), its MLflow "
                                  "tracking URI and its feedback store URL (LINLI_API_KEYS, "
                                  "LINLI_MLFLOW_TRACKING_URI, LINLI_DATABASE_URL)")
        with FeedbackStore(config.store_url) as store:
            yield _Api(config.url.rstrip("/"), config.keys, config.tracking_uri, store, config.model_name, None)
        return
    with tempfile.TemporaryDirectory(prefix="linli-simulate-") as scratch:
        folder = (config.workdir or Path(scratch)).resolve()
        if (folder / "mlflow.db").exists() or (folder / "feedback.db").exists():
            raise SimulationError(f"{folder} already holds a Linli deployment (mlflow.db or feedback.db); give an "
                                  "empty --workdir, or --url to simulate against a running API")
        folder.mkdir(parents=True, exist_ok=True)
        keys = {role: secrets.token_urlsafe(24) for role in ("platform", "planner", "admin")}
        tracking = f"sqlite:///{folder / 'mlflow.db'}"
        say(f"day 0: training the first version on {config.history_weeks} weeks of history")
        first = train(history, tracking_uri=tracking, model_name=config.model_name, config=train_config,
                      artifact_location=(folder / "mlartifacts").as_uri())
        say(f"day 0: version {first.model_version} ({first.alias}); starting the API")
        server: LocalServer
        with start_server(folder, keys, tracking, config.model_name) as server, \
                FeedbackStore(server.store_url) as store:
            yield _Api(server.url, keys, tracking, store, config.model_name, (folder / "mlartifacts").as_uri())


def _loop(config: SimulationConfig, api: _Api, history: Dataset, train_config: TrainConfig,
          residents: SimulatedResidents, say: Progress) -> list[dict[str, Any]]:
    start = history.history_end()
    rows = []
    for day in range(1, config.days + 1):
        date = start + pd.Timedelta(days=day - 1)
        request_ids, expected = _serve_day(api, residents, date, config)
        served, events = api.store.served(), api.store.events()
        row = _day_metrics(day, date, served[served[REQUEST_ID].isin(request_ids)], events)
        row["expected_ctr"] = expected
        if day < config.days:
            say(f"day {day}: ctr {row['ctr']:.4f} on {row['impressions']} impressions; retraining")
            result = train(history, tracking_uri=api.tracking_uri, model_name=api.model_name, config=train_config,
                           artifact_location=api.artifact_location, feedback=FeedbackLog(served, events))
            row |= {"trained_version": result.model_version, "promoted": result.promoted,
                    "offpolicy_ctr": result.online.get("metrics", {}).get("offpolicy.ctr"),
                    "gate": result.decision, "feedback_added": result.feedback.get("added", 0)}
            if result.promoted:
                api.call("POST", "/models/reload", "admin", {"alias": "champion"})
            else:
                say(f"day {day}: version {result.model_version} stays challenger: " + "; ".join(result.decision))
        say(_format_row(row))
        rows.append(row)
    return rows


def _serve_day(api: _Api, residents: SimulatedResidents, date: pd.Timestamp, config: SimulationConfig
               ) -> tuple[set[str], float]:
    """One day of requests and reactions; returns the day's request ids and the lists' expected CTR under the
    residents' reaction model (from the ground truth: for evaluation only, no model sees it)."""
    chosen = residents.sample(config.residents_per_day)
    times = dict(zip(chosen, residents.request_times(date, len(chosen)), strict=True))
    events: list[dict[str, Any]] = []
    request_ids: set[str] = set()
    expected, shown = 0.0, 0
    for begin in range(0, len(chosen), _BATCH_RESIDENTS):
        batch = chosen[begin:begin + _BATCH_RESIDENTS]
        answer = api.call("POST", "/recommendations", "platform", {"residents": batch, "k": config.k})
        for served in answer["data"]:
            request_ids.add(served["request_id"])
            services = [item["service_id"] for item in served["data"]]
            expected += float(residents.expected_clicks(served["resident_id"], services).sum())
            shown += len(services)
            events += residents.react(served["request_id"], served["resident_id"], services,
                                      times[served["resident_id"]])
    for begin in range(0, len(events), _BATCH_EVENTS):
        api.call("POST", "/feedback", "platform", {"events": events[begin:begin + _BATCH_EVENTS]})
    return request_ids, expected / max(shown, 1)


def _day_metrics(day: int, date: pd.Timestamp, served: pd.DataFrame, events: pd.DataFrame) -> dict[str, Any]:
    table = online_metrics(served, events, by=(), confidence=0.95)
    metrics = table.iloc[0].to_dict() if len(table) else {}
    return {"day": day, "date": str(date.date()),
            "model_version": ",".join(sorted(served[MODEL_VERSION].astype(str).unique())),
            "variants": ",".join(sorted(served[VARIANT].astype(str).unique())),
            **{name: _number(metrics.get(name), name in _COUNTS) for name in (
                *_COUNTS, "ctr", "ctr_low", "ctr_high", "booking_rate", "use_rate", "mean_rating")},
            "trained_version": None, "promoted": None}


def _by_version(store: FeedbackStore) -> list[dict[str, Any]]:
    log = FeedbackLog(store.served(), store.events())
    out = []
    for version in sorted(log.served[MODEL_VERSION].astype(str).unique(), key=int):
        ctr = observed_ctr(log, version)
        if ctr is not None:
            out.append({"model_version": version, "lists": ctr.lists, "impressions": ctr.impressions,
                        "ctr": ctr.ctr, "ctr_low": ctr.low, "ctr_high": ctr.high})
    return out


def _comparison(versions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Second served version against the first: CTR difference with its 95% interval."""
    if len(versions) < 2:
        return None
    first, second = versions[0], versions[1]
    z = z_value(0.95)
    se = math.hypot(*((v["ctr_high"] - v["ctr_low"]) / (2 * z) for v in (first, second)))
    diff = second["ctr"] - first["ctr"]
    return {"first_version": first["model_version"], "second_version": second["model_version"],
            "ctr_difference": diff, "ctr_difference_low": diff - z * se, "ctr_difference_high": diff + z * se,
            "second_beats_first": diff > 0}


def _number(value: Any, count: bool) -> int | float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if count else float(value)


def _format_row(row: dict[str, Any]) -> str:
    promoted = {None: "-", True: f"yes (v{row.get('trained_version')})", False: f"no (v{row.get('trained_version')})"}
    return (f"{row['day']:>3}  {row['date']}  v{row['model_version']:<5} {row['variants']:<18} {row['lists'] or 0:>6} "
            f"{row['impressions'] or 0:>8}  {_fmt(row['ctr'])} [{_fmt(row['ctr_low'])}, {_fmt(row['ctr_high'])}]  "
            f"{_fmt(row.get('expected_ctr'))}  {_fmt(row['booking_rate'])}  {_fmt(row['use_rate'])}  "
            f"{_fmt(row['mean_rating'], 2):>6}  {promoted[row['promoted']]}")


def _fmt(value: float | None, digits: int = 4) -> str:
    return "  n/a " if value is None else f"{value:.{digits}f}"


HEADER: Final = ("day  date        model  variants            lists  impress.  ctr    [95% interval]     "
                 "exp.ctr booking use     rating  promoted")


def format_report(report: dict[str, Any]) -> str:
    """The per-day table, the CTR of every served version and the first-vs-second comparison, as text."""
    lines = [HEADER, *(_format_row(row) for row in report["days"]), "", "CTR per served model version:"]
    for v in report["versions"]:
        lines.append(f"  v{v['model_version']}: {v['ctr']:.4f} [{v['ctr_low']:.4f}, {v['ctr_high']:.4f}] over "
                     f"{v['impressions']} impressions in {v['lists']} lists")
    comparison = report["comparison"]
    if comparison:
        lines.append(f"v{comparison['second_version']} − v{comparison['first_version']} CTR: "
                     f"{comparison['ctr_difference']:+.4f} [{comparison['ctr_difference_low']:+.4f}, "
                     f"{comparison['ctr_difference_high']:+.4f}]")
    lines.append(f"{report['seconds']} s")
    return "\n".join(lines)


__all__ = ["SIMULATE_CONFIG", "SimulationConfig", "SimulationError", "format_report", "parse_keys", "run",
           "short_history"]
