"""Data contracts, sources and the feature pipeline. Imports no other Linli package."""

from features.columns import LIST_SEPARATOR, Columns, Vocab
from features.dataset import Dataset, IdMap
from features.errors import DataValidationError, LinliDataError, SourceError, UnknownIdError, Violation
from features.feature_registry import REGISTRY as FEATURE_REGISTRY
from features.feature_registry import FeatureSet, FeatureSetError, UnknownFeatureError
from features.pipeline import FeaturePipeline, FeaturesNotFittedError
from features.schema import TABLES, ColumnSpec, TableSpec

__all__ = [
    "FEATURE_REGISTRY",
    "LIST_SEPARATOR",
    "TABLES",
    "ColumnSpec",
    "Columns",
    "DataValidationError",
    "Dataset",
    "FeaturePipeline",
    "FeatureSet",
    "FeatureSetError",
    "FeaturesNotFittedError",
    "IdMap",
    "LinliDataError",
    "SourceError",
    "TableSpec",
    "UnknownFeatureError",
    "UnknownIdError",
    "Violation",
    "Vocab",
]
