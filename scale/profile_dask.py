"""``linli profile --engine dask``: the unchanged pandas feature and persona code run per resident bucket.

1. Every part of every table is validated where it lies (:mod:`scale.validate`).
2. Residents and interactions are shuffled once into resident buckets (:mod:`scale.engine`); the cut-off and
   the history span are global aggregates computed once and sent to every bucket.
3. Per bucket: resident features (:class:`~features.pipeline.FeaturePipeline` with the profiling feature set)
   and persona tags (:class:`~profiling.rules.PersonaRules`).
4. The segment model is fitted once, on a seeded sample of residents gathered in their table order, scattered
   to the workers and assigned per bucket. With no more residents than the sample, the sample is everyone and
   the segments are those of the local engine.
5. Tags and segments (a few bytes per resident) are gathered in table order; community types, counts and the
   recovery against ground truth are computed from them with the local engine's code.

Features stay on the workers. The planner reports (:func:`profiling.build_reports`) are not rolled up by this
engine yet; ``linli profile`` prints the summary only, which is complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from distributed import Client, wait

from features.columns import Columns as C
from features.errors import LinliDataError
from features.pipeline import FeaturePipeline
from profiling.community_types import type_communities
from profiling.config import PersonaRulesConfig, ProfilingConfig, load_config
from profiling.features import profiling_feature_set
from profiling.profile import ProfileSummary, ResidentProfile, summary
from profiling.reports import SegmentReport
from profiling.rules import PersonaRules, PersonaTags
from profiling.segments import SegmentModel
from scale.buckets import default_buckets
from scale.cluster import RETRIES
from scale.engine import Bucket, bucket_data
from scale.parts import folder_parts
from scale.validate import validate_on_cluster

#: Residents the segment model is fitted on (a seeded sample when there are more).
FIT_SAMPLE = 200_000


@dataclass(frozen=True)
class _BucketProfile:
    features: pd.DataFrame
    tags: PersonaTags
    rows: np.ndarray
    communities: np.ndarray


def profile_bucket(bucket: Bucket, cutoff: pd.Timestamp, history_days: float | None,
                    rules: PersonaRulesConfig) -> _BucketProfile:
    pipeline = FeaturePipeline(profiling_feature_set(), history_days=history_days).fit(bucket.dataset, cutoff)
    residents = bucket.dataset.residents
    features = pipeline.resident_features(residents[C.RESIDENT])
    return _BucketProfile(features, PersonaRules(rules).tag(features), bucket.rows,
                          residents[C.COMMUNITY].to_numpy(dtype=object))


def _sample(profile: _BucketProfile, chosen: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    keep = np.isin(profile.rows, chosen)
    return profile.features[keep], profile.rows[keep]


def _communities(bucket: Bucket) -> pd.DataFrame:
    return bucket.dataset.communities


def _assign(profile: _BucketProfile, model: SegmentModel) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    segments = model.predict(profile.features).to_numpy(dtype=np.int64)
    return profile.tags.tags, segments, profile.rows, profile.communities


@dataclass(frozen=True)
class DaskProfile:
    """What ``linli profile --engine dask`` learned; per-resident frames are in residents-table order.

    Attributes
    ----------
    tags : pandas.DataFrame
        Boolean resident × persona, indexed by resident id.
    segments : pandas.Series
        Segment id per resident id.
    segment_model : SegmentModel
        Fitted on the sample; ``descriptions_`` counts every resident.
    community_types : pandas.DataFrame
        As :func:`profiling.type_communities`.
    cutoff : pandas.Timestamp
    buckets : int
    config : ProfilingConfig
    dropped : dict
    seconds : dict
        Wall seconds per stage: ``validate``, ``bucket``, ``personas``, ``segments``, ``roll_up``.
    """

    tags: pd.DataFrame
    segments: pd.Series
    segment_model: SegmentModel
    community_types: pd.DataFrame
    cutoff: pd.Timestamp
    buckets: int
    config: ProfilingConfig
    dropped: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self, truth: pd.DataFrame | None = None) -> ProfileSummary:
        """The JSON summary of :func:`profiling.summary` (the same keys and values as the local engine)."""
        empty = pd.DataFrame()
        adapter = ResidentProfile(pd.DataFrame(index=self.tags.index), PersonaTags(self.tags, empty),
                                  self.segments, self.segment_model, self.community_types,
                                  SegmentReport(empty, empty, empty, self.config.reports.k), self.config,
                                  self.cutoff)
        return summary(adapter, truth)


def profile_on_cluster(client: Client, data: str | Path, *, seed: int = 0, config: ProfilingConfig | None = None,
                       now: pd.Timestamp | str | None = None, n_buckets: int | None = None,
                       fit_sample: int = FIT_SAMPLE) -> DaskProfile:
    """Profile every resident of a data folder on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client
    data : str or Path
        Folder of single files and/or partitioned tables.
    seed : int, default 0
        Seed of the segment sample and model.
    config : ProfilingConfig, optional
        ``None`` reads the shipped ``profiling/personas.toml``.
    now : timestamp, optional
        The end of the history, as ``--now``.
    n_buckets : int, optional
        Resident buckets; default about 50,000 residents each and at least two per worker.
    fit_sample : int, default FIT_SAMPLE
        Residents the segment model is fitted on.

    Raises
    ------
    features.errors.DataValidationError
        With every violation, by part file, row and column.
    features.errors.LinliDataError
        No residents, or the data cannot be read.
    """
    config = config or load_config()
    clock = _Clock()
    parts = folder_parts(data)
    validate_on_cluster(client, parts)
    clock.lap("validate")
    n_residents = sum(p.rows for p in parts["residents"])
    if n_residents == 0:
        raise LinliDataError(f"{data}: no residents; profiling needs at least one row in the residents table")
    workers = len(client.scheduler_info().get("workers", {})) or 1
    n_buckets = n_buckets or default_buckets(n_residents, workers)
    data_ = bucket_data(client, parts, n_buckets, now)
    clock.lap("bucket")
    profiles = client.map(profile_bucket, data_.buckets, cutoff=data_.cutoff, history_days=data_.history_days,
                          rules=config.personas, retries=RETRIES)
    wait(profiles)
    clock.lap("personas")
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(n_residents, size=min(n_residents, fit_sample), replace=False))
    shared = client.scatter(chosen, broadcast=True)
    pieces = client.gather(client.map(_sample, profiles, chosen=shared))
    rows = np.concatenate([r for _, r in pieces]) if pieces else np.zeros(0, dtype=np.int64)
    sample = pd.concat([f for f, _ in pieces]).iloc[np.argsort(rows, kind="stable")]
    model = SegmentModel(config.segments, seed=seed).fit(sample)
    assigned = client.gather(client.map(_assign, profiles, model=client.scatter(model, broadcast=True)))
    clock.lap("segments")
    communities = client.submit(_communities, data_.buckets[0]).result()
    client.cancel(profiles + data_.buckets)
    order = np.argsort(np.concatenate([a[2] for a in assigned]), kind="stable")
    tags = pd.concat([a[0] for a in assigned]).iloc[order]
    segments = pd.Series(np.concatenate([a[1] for a in assigned])[order], index=tags.index, name="segment")
    community = np.concatenate([a[3] for a in assigned])[order]
    residents = pd.DataFrame({C.RESIDENT: tags.index.to_numpy(dtype=object), C.COMMUNITY: community})
    types = type_communities(tags, residents, communities, config.community_types)
    sizes = np.bincount(segments.to_numpy(), minlength=model.n_segments_)
    model.descriptions_["residents"] = sizes[model.descriptions_.index.to_numpy()]
    clock.lap("roll_up")
    return DaskProfile(tags, segments, model, types, data_.cutoff, n_buckets, config, data_.dropped, clock.laps)


class _Clock:
    """Wall seconds of consecutive stages."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 2)
        self._last = now
