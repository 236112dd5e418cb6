"""Training: splits (time-based; stratified for published protocols), ground truth, offline metrics, and the
online side: metrics from served lists and feedback, A/B reports and off-policy estimates.

The MLflow-bound modules (``retrain``, ``tracking``, ``monitor``) are imported by name, not here."""

from training.ab_report import ABReport, ab_report
from training.metrics import (
    MetricInputError,
    catalogue_coverage,
    cold_start_ndcg,
    evaluate,
    map_at_k,
    mean_average_precision,
    ndcg_at_k,
    novelty,
    per_group_ndcg,
    per_resident_metrics,
    precision_at_k,
    recall_at_k,
)
from training.off_policy import OffPolicyEstimate, estimate_ctr, logged_impressions
from training.online_metrics import OnlineMetricsError, online_metrics
from training.relevance import (
    NEGATIVE_RATING,
    POSITIVE_EVENTS,
    RELEVANCE,
    RelevanceError,
    event_relevance,
    event_strengths,
    relevance_frame,
    service_popularity,
)
from training.splits import WINDOWS, SplitError, TimeSplit, stratified_split, time_split

__all__ = [
    "NEGATIVE_RATING",
    "POSITIVE_EVENTS",
    "RELEVANCE",
    "WINDOWS",
    "ABReport",
    "MetricInputError",
    "OffPolicyEstimate",
    "OnlineMetricsError",
    "RelevanceError",
    "SplitError",
    "TimeSplit",
    "ab_report",
    "catalogue_coverage",
    "cold_start_ndcg",
    "estimate_ctr",
    "evaluate",
    "event_relevance",
    "event_strengths",
    "logged_impressions",
    "map_at_k",
    "mean_average_precision",
    "ndcg_at_k",
    "novelty",
    "online_metrics",
    "per_group_ndcg",
    "per_resident_metrics",
    "precision_at_k",
    "recall_at_k",
    "relevance_frame",
    "service_popularity",
    "stratified_split",
    "time_split",
]
