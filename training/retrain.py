"""The retrain pipeline: split → fit every model → evaluate on the held-out window → MLflow run →
registered version → promotion gate. One call, one run, one version."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from features.dataset import Dataset
from features.time_bounds import OUT_OF_TIME, bound_history
from profiling.config import ProfilingConfig
from profiling.profile import profile_dataset
from recommenders.hybrid import HybridRecommender
from recommenders.registry import make_recommender
from training.batch_lists import write_lists
from training.bundle import ModelBundle
from training.config import TrainConfig
from training.evaluation import EvaluationWindow
from training.feedback_data import FeedbackLog, FeedbackMerge, merge_feedback
from training.online_gate import OnlineCheck, known_residents, online_check
from training.promotion import Decision, decide
from training.splits import require_residents, time_split
from training.tracking import CHALLENGER, CHAMPION, connect, flat_metrics, log_bundle, log_lists, version_by_alias

Progress = Callable[[str], None]
PER_PERSONA = "per_persona_ndcg@10"


@dataclass
class TrainResult:
    """What ``linli train --json`` prints."""

    run_id: str
    model_version: str
    promoted: bool
    alias: str
    decision: list[str]
    metrics: dict[str, dict[str, Any]]
    per_persona_ndcg_at_10: dict[str, float]
    data_fingerprint: str
    test_window: list[str]
    seconds: dict[str, float] = field(default_factory=dict)
    feedback: dict[str, int] = field(default_factory=dict)
    online: dict[str, Any] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict with the documented keys (``per_persona_ndcg@10`` spelled with ``@``)."""
        out = asdict(self)
        out[PER_PERSONA] = out.pop("per_persona_ndcg_at_10")
        return out


def _champion_metrics(client: mlflow.MlflowClient, model_name: str) -> tuple[dict[str, Any] | None, str | None]:
    champion = version_by_alias(client, model_name, CHAMPION)
    if champion is None:
        return None, None
    try:
        if champion.run_id is None:  # no run to read the metrics from
            return None, champion.version
        text = client.download_artifacts(champion.run_id, "metrics.json")
        with open(text, encoding="utf-8") as handle:
            return json.load(handle)["hybrid"], champion.version
    except Exception:  # a champion without readable metrics cannot block a new model
        return None, champion.version


def train(dataset: Dataset, *, tracking_uri: str, model_name: str, config: TrainConfig | None = None,
          artifact_location: str | None = None, progress: Progress | None = None,
          feedback: FeedbackLog | None = None, now: pd.Timestamp | str | None = None,
          profiling: ProfilingConfig | None = None) -> TrainResult:
    """Train, evaluate, log, register and gate one new model version.

    Parameters
    ----------
    dataset : Dataset
        All data; the last ``config.test_weeks`` are held out for evaluation, then the final
        bundle is refitted on everything.
    tracking_uri : str
        MLflow tracking and registry URI (e.g. ``sqlite:///data/mlflow.db``).
    model_name : str
        Registered model name.
    config : TrainConfig, optional
    artifact_location : str, optional
        Artifact root for a newly created experiment.
    progress : callable, optional
        Called with a short label as each stage starts.
    feedback : FeedbackLog, optional
        The feedback store's served lists and events: merged into the data as interactions
        (:mod:`training.feedback_data`), and used for the gate's online check (:mod:`training.online_gate`).
    now : timestamp, optional
        End of the history (exclusive, local time); default the clock plus a small skew. Interactions and
        feedback rows at or after it, or before 1990, are dropped, counted in :attr:`TrainResult.dropped`,
        warned about and logged on the run: a stray row never moves the windows.
    profiling : ProfilingConfig, optional
        Persona thresholds (e.g. calibrated) for the per-persona evaluation and the bundle's profile;
        ``None`` reads the shipped ``profiling/personas.toml``. The bundle's ``profile.config`` records it.

    Raises
    ------
    training.splits.SplitError
        The data is too short or too thin to train on (the sentence names what is missing).
    """
    cfg = config or TrainConfig()
    say = progress or (lambda _label: None)
    seconds: dict[str, float] = {}

    def timed(label: str, fn: Callable[[], Any]) -> Any:
        say(label)
        started = time.perf_counter()
        value = fn()
        seconds[label] = round(time.perf_counter() - started, 2)
        return value

    dataset = bound_history(dataset, now)
    dropped = {OUT_OF_TIME: dataset.dropped.get(OUT_OF_TIME, 0)}
    merge: FeedbackMerge | None = None
    if feedback is not None:
        dataset, merge = timed("feedback", lambda: merge_feedback(dataset, feedback, now))
        dropped["feedback_out_of_time"] = merge.out_of_time_rows
    require_residents(dataset, cfg.test_weeks, cfg.hybrid.label_weeks)
    split = time_split(dataset, test_weeks=cfg.test_weeks, validation_weeks=0)
    window = timed("personas", lambda: EvaluationWindow.build(dataset, split, cfg.k, cfg.seed, profiling))
    metrics: dict[str, dict[str, Any]] = {}
    for name in cfg.single_models:
        params = cfg.hybrid.generators.get(name, {})
        model = timed(name, lambda: make_recommender(name, params).fit(dataset, split.train_until))  # noqa: B023 (called at once)
        metrics[name] = window.score(model)
    hybrid = timed("hybrid", lambda: HybridRecommender(cfg.hybrid).fit(dataset, split.train_until))
    metrics["hybrid"] = timed("evaluate", lambda: window.score(hybrid))
    if cfg.refit_ranker:  # the served ranker also learns from the latest weeks (feedback included)
        hybrid = timed("refit", lambda: HybridRecommender(cfg.hybrid).fit(dataset))
    else:
        timed("refit", lambda: hybrid.refit(dataset))
    profile = timed("profile", lambda: profile_dataset(dataset, cutoff=hybrid.cutoff_, seed=cfg.seed,
                                                          config=profiling))
    bundle = ModelBundle(model=hybrid, profile=profile, data_fingerprint=dataset.fingerprint(),
                         cutoff=hybrid.cutoff_, config=cfg.model_dump(mode="json"), metrics=metrics)

    counts = {"residents": len(dataset.residents), "interactions": len(dataset.interactions)}
    return register_trained(bundle, Trained(cfg, split, metrics, window.persona_counts(), seconds, counts, dropped),
                            tracking_uri=tracking_uri, model_name=model_name, artifact_location=artifact_location,
                            say=say, feedback=feedback, merge=merge,
                            known=known_residents(dataset.resident_ids.external))


@dataclass(frozen=True)
class Trained:
    """What a training engine (local or dask) hands to :func:`register_trained` besides the bundle."""

    config: TrainConfig
    split: Any
    metrics: dict[str, dict[str, Any]]
    persona_counts: dict[str, int]
    seconds: dict[str, float]
    counts: dict[str, int]
    dropped: dict[str, int]


def register_trained(bundle: ModelBundle, trained: Trained, *, tracking_uri: str, model_name: str,
                     artifact_location: str | None = None, say: Progress | None = None,
                     feedback: FeedbackLog | None = None, merge: FeedbackMerge | None = None,
                     known: pd.Index | None = None, lists: Path | None = None) -> TrainResult:
    """Log the run, register the bundle and apply the promotion gate: the one way a version is registered.

    Every engine calls it only after every stage has finished, so a failed stage never registers a version.
    ``lists`` is a folder the engine already wrote with :mod:`training.batch_lists` (manifest and bucket files,
    e.g. per bucket on a cluster); without it every resident's lists are written here with ``write_lists``.
    """
    say = say or (lambda _label: None)
    cfg, split, metrics, seconds = trained.config, trained.split, trained.metrics, trained.seconds
    hybrid = bundle.model
    say("mlflow")
    client = connect(tracking_uri, artifact_location)
    champion_metrics, champion_version = _champion_metrics(client, model_name)
    say("online")
    started = time.perf_counter()
    online: OnlineCheck = online_check(feedback, champion_version, hybrid.recommend,
                                       known if known is not None else pd.Index([], dtype=object))
    seconds["online"] = round(time.perf_counter() - started, 2)
    decision = decide(metrics["hybrid"], champion_metrics, cfg.gate, trained.persona_counts, online.evidence)
    if champion_version is not None:
        decision.reasons.insert(0, f"compared with champion version {champion_version}")
    with tempfile.TemporaryDirectory(prefix="linli-lists-") as scratch, mlflow.start_run() as run:
        if lists is None:
            say("lists")
            started = time.perf_counter()
            lists = Path(scratch)
            write_lists(bundle, lists)  # serving opens them; it does not score them
            seconds["lists"] = round(time.perf_counter() - started, 2)
        _log_run(cfg, bundle, trained.counts, split, metrics, decision, seconds)
        _log_online(merge, online)
        mlflow.log_metrics({f"data.{k}": float(v) for k, v in trained.dropped.items() if k == OUT_OF_TIME})
        log_lists(lists)  # before the version exists: an alias never names a version without its lists
        version = log_bundle(bundle, model_name)
        client.set_registered_model_alias(model_name, CHAMPION if decision.promoted else CHALLENGER, version.version)
        mlflow.set_tag("linli.model_version", version.version)
    return TrainResult(run_id=run.info.run_id, model_version=str(version.version), promoted=decision.promoted,
                       alias=decision.alias, decision=decision.reasons, metrics=metrics,
                       per_persona_ndcg_at_10=dict(metrics["hybrid"].get(PER_PERSONA, {})),
                       data_fingerprint=bundle.data_fingerprint,
                       test_window=[str(split.test_start), str(split.end)], seconds=seconds,
                       feedback=merge.to_json() if merge else {}, online=online.to_json(),
                       dropped=trained.dropped)


def _log_online(merge: FeedbackMerge | None, online: OnlineCheck) -> None:
    if merge is not None:
        mlflow.log_metrics({f"feedback.{k}": float(v) for k, v in merge.to_json().items()})
    mlflow.log_metrics(online.metrics())
    mlflow.log_dict(online.to_json(), "online.json")


def _log_run(cfg: TrainConfig, bundle: ModelBundle, counts: dict[str, int], split: Any,
             metrics: dict[str, dict[str, Any]], decision: Decision, seconds: dict[str, float]) -> None:
    hybrid = bundle.model
    params = {**hybrid.get_params(), **hybrid.part_params(), "test_weeks": cfg.test_weeks, "k": cfg.k, "seed": cfg.seed,
              "single_models": ",".join(cfg.single_models), "gate.persona_tolerance": cfg.gate.persona_tolerance,
              "data.fingerprint": bundle.data_fingerprint, "data.residents": counts["residents"],
              "data.interactions": counts["interactions"], "split.test_start": str(split.test_start),
              "split.end": str(split.end)}
    mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
    mlflow.log_metrics(flat_metrics(metrics))
    mlflow.log_metrics(flat_metrics({"seconds": seconds}))
    mlflow.set_tags({"linli.promoted": str(decision.promoted).lower(), "linli.alias": decision.alias,
                     "linli.decision": " | ".join(decision.reasons)[:5000]})
    mlflow.log_dict(metrics, "metrics.json")
    mlflow.log_dict(decision.to_dict(), "decision.json")
    mlflow.log_dict(bundle.profile.config.model_dump(mode="json"), "personas.json")
    importance = hybrid.ranker_.feature_importance()
    mlflow.log_text(pd.DataFrame({"feature": importance.index, "gain": importance.to_numpy()}).to_csv(index=False),
                    "ranker_feature_importance.csv")
