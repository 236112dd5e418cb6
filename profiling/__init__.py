"""Resident profiling: transparent persona rules, learned segments, community types and planner reports."""

from profiling.community_types import COMMUNITY_TYPES, type_communities
from profiling.config import (
    CommunityTypeConfig,
    PersonaRulesConfig,
    ProfilingConfig,
    ProfilingConfigError,
    ReportConfig,
    SegmentConfig,
    default_config_path,
    load_config,
)
from profiling.profile import ResidentProfile, default_cutoff, profile_dataset, profile_features, summary
from profiling.recovery import Recovery, TruthMismatchError, persona_f1, recovery_scores, truth_personas
from profiling.reports import SegmentReport, build_reports
from profiling.rules import PersonaRules, PersonaTags
from profiling.segments import SegmentModel

__all__ = [
    "COMMUNITY_TYPES",
    "CommunityTypeConfig",
    "PersonaRules",
    "PersonaRulesConfig",
    "PersonaTags",
    "ProfilingConfig",
    "ProfilingConfigError",
    "Recovery",
    "ReportConfig",
    "ResidentProfile",
    "SegmentConfig",
    "SegmentModel",
    "SegmentReport",
    "TruthMismatchError",
    "build_reports",
    "default_config_path",
    "default_cutoff",
    "load_config",
    "persona_f1",
    "profile_dataset",
    "profile_features",
    "recovery_scores",
    "summary",
    "truth_personas",
    "type_communities",
]
