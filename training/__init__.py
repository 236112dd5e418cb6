"""Training: splits (time-based; stratified for published protocols), ground truth and offline metrics.

The online side (``online_metrics``, ``ab_report``, ``off_policy``, ``monitor``) and the MLflow-bound modules
(``retrain``, ``tracking``) are imported by module name: their main functions share the modules' names, so
re-exporting them here would hide the modules."""

from training.metrics import (
    MetricInputError,
    catalogue_coverage,
    category_diversity,
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
from training.relevance import (
    NEGATIVE_RATING,
    POSITIVE_EVENTS,
    RELEVANCE,
    RelevanceError,
    event_relevance,
    event_strengths,
    relevance_frame,
    service_resident_counts,
)
from training.splits import WINDOWS, SplitError, TimeSplit, stratified_split, time_split

__all__ = [
    "NEGATIVE_RATING",
    "POSITIVE_EVENTS",
    "RELEVANCE",
    "WINDOWS",
    "MetricInputError",
    "RelevanceError",
    "SplitError",
    "TimeSplit",
    "catalogue_coverage",
    "category_diversity",
    "cold_start_ndcg",
    "evaluate",
    "event_relevance",
    "event_strengths",
    "map_at_k",
    "mean_average_precision",
    "ndcg_at_k",
    "novelty",
    "per_group_ndcg",
    "per_resident_metrics",
    "precision_at_k",
    "recall_at_k",
    "relevance_frame",
    "service_resident_counts",
    "stratified_split",
    "time_split",
]
