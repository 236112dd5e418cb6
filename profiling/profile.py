"""One call from a dataset to a resident profile: persona tags, segments, community types and reports.

:func:`profile_dataset` computes resident features at a cutoff and hands them to :func:`profile_features`;
:func:`summary` gives the JSON that ``linli profile --json`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pandas as pd

from features.columns import Vocab
from features.dataset import Dataset
from privacy.dp import PlannerDp, configured_epsilon, planner_dp, release_version
from profiling.community_types import COMMUNITY_TYPES, type_communities
from profiling.config import ProfilingConfig, load_config
from profiling.features import profiling_features
from profiling.recovery import RecoveryDict, recovery_scores
from profiling.reports import SegmentReport, build_reports
from profiling.rules import PersonaRules, PersonaTags
from profiling.segments import SegmentModel


@dataclass(frozen=True)
class ResidentProfile:
    """Everything profiling learned about a dataset at one cutoff.

    Attributes
    ----------
    features : pandas.DataFrame
        The resident features the profile was built from, indexed by resident id.
    personas : PersonaTags
        Rule persona tags (resident × persona) and their reasons.
    segments : pandas.Series
        Segment id per resident id.
    segment_model : SegmentModel
        The fitted segment model (``descriptions_`` describes every segment in Chinese and English).
    community_types : pandas.DataFrame
        Type of each community with the shares that decided it.
    reports : SegmentReport
        Suppressed community → street → district tables.
    config : ProfilingConfig
        The configuration used.
    cutoff : pandas.Timestamp
        Interactions strictly before it were used.
    """

    features: pd.DataFrame
    personas: PersonaTags
    segments: pd.Series
    segment_model: SegmentModel
    community_types: pd.DataFrame
    reports: SegmentReport
    config: ProfilingConfig
    cutoff: pd.Timestamp


def default_cutoff(dataset: Dataset) -> pd.Timestamp:
    """The day after the last interaction (midnight), or tomorrow when there are no interactions."""
    return dataset.history_end()


def profile_dataset(
    dataset: Dataset,
    cutoff: pd.Timestamp | str | None = None,
    config: ProfilingConfig | None = None,
    seed: int = 0,
) -> ResidentProfile:
    """Profile every resident of a dataset.

    Parameters
    ----------
    dataset : Dataset
        The validated dataset.
    cutoff : Timestamp or str, optional
        Only interactions strictly before it are used; ``None`` means the day after the last interaction.
    config : ProfilingConfig, optional
        Thresholds and options; ``None`` reads the shipped ``profiling/personas.toml``.
    seed : int, default 0
        Seed of the segment model; the same seed gives the same segments.

    Returns
    -------
    ResidentProfile
    """
    cutoff = default_cutoff(dataset) if cutoff is None else pd.Timestamp(cutoff)
    features = profiling_features(dataset, cutoff)
    return profile_features(dataset, features, cutoff=cutoff, config=config, seed=seed)


def profile_features(
    dataset: Dataset,
    features: pd.DataFrame,
    cutoff: pd.Timestamp | str | None = None,
    config: ProfilingConfig | None = None,
    seed: int = 0,
) -> ResidentProfile:
    """Profile residents from already computed resident features (the part after feature computation).

    Parameters
    ----------
    dataset : Dataset
        Gives residents' communities, names and the service use counted in reports.
    features : pandas.DataFrame
        Resident features indexed by resident id, computed at ``cutoff``.
    cutoff : Timestamp or str, optional
        The cutoff the features were computed at; ``None`` means the day after the last interaction.
    config : ProfilingConfig, optional
        ``None`` reads the shipped ``profiling/personas.toml``.
    seed : int, default 0
        Seed of the segment model.

    Returns
    -------
    ResidentProfile
    """
    config = config or load_config()
    cutoff = default_cutoff(dataset) if cutoff is None else pd.Timestamp(cutoff)
    personas = PersonaRules(config.personas).tag(features)
    model = SegmentModel(config.segments, seed=seed).fit(features)
    types = type_communities(personas.tags, dataset.residents, dataset.communities, config.community_types)
    counted = dataset.until(cutoff)
    reports = build_reports(counted, personas.tags, model.labels_, config.reports,
                            dp=planner_release(counted, personas.tags, model.labels_))
    return ResidentProfile(features, personas, model.labels_, model, types, reports, config, cutoff)


def planner_release(dataset: Dataset, tags: pd.DataFrame, segments: pd.Series) -> PlannerDp | None:
    """The differential-privacy release of the planner tables that ``LINLI_PLANNER_EPSILON`` asks for, if any.

    Its data version covers everything the true counts depend on: the counted data, the tags and the segments.
    """
    if configured_epsilon() is None:
        return None
    version = release_version(dataset.fingerprint(), pd.util.hash_pandas_object(tags).to_numpy().tobytes(),
                              pd.util.hash_pandas_object(segments).to_numpy().tobytes())
    return planner_dp(version)


class SegmentDescription(TypedDict):
    """One segment of :class:`ProfileSummary`: its id, size and bilingual description."""

    segment: int
    residents: int
    zh: str
    en: str


class ProfileSummary(TypedDict):
    """The JSON summary of a profiling run (see :func:`summary`)."""

    residents: int
    personas: dict[str, int]
    segments: int
    segment_descriptions: list[SegmentDescription]
    community_types: dict[str, int]
    recovery: NotRequired[RecoveryDict]


def summary(profile: ResidentProfile, truth: pd.DataFrame | None = None) -> ProfileSummary:
    """The JSON-ready summary that ``linli profile --json`` prints.

    Parameters
    ----------
    profile : ResidentProfile
    truth : pandas.DataFrame, optional
        Ground truth (``resident_id``, ``latent_types``, ``primary_type``); adds ``recovery``.

    Returns
    -------
    dict
        ``residents`` (int), ``personas`` (persona → count), ``segments`` (int), ``segment_descriptions``
        (list of ``{segment, residents, zh, en}``), ``community_types`` (type → count of communities) and,
        with ``truth``, ``recovery`` (``macro_f1``, ``per_persona_f1``, ``segment_ari``).
    """
    descriptions = profile.segment_model.descriptions_
    counts = profile.community_types["community_type"].value_counts()
    out: ProfileSummary = {
        "residents": len(profile.features),
        "personas": {p: int(profile.personas.tags[p].sum()) for p in Vocab.PERSONAS},
        "segments": int(profile.segment_model.n_segments_),
        "segment_descriptions": [
            {"segment": int(s), "residents": int(row["residents"]), "zh": row["description_zh"],
             "en": row["description_en"]}
            for s, row in descriptions.iterrows()
        ],
        "community_types": {kind: int(counts.get(kind, 0)) for kind in COMMUNITY_TYPES},
    }
    if truth is not None:
        out["recovery"] = recovery_scores(profile.personas.tags, truth, profile.segments).to_dict()
    return out
