"""Data contracts, sources and the feature pipeline. Imports no other Linli package."""

from features.columns import LIST_SEPARATOR, Columns, Vocab
from features.dataset import Dataset, IdMap
from features.errors import DataValidationError, LinliDataError, SourceError, UnknownIdError, Violation
from features.schema import TABLES, ColumnSpec, TableSpec

__all__ = [
    "LIST_SEPARATOR",
    "TABLES",
    "ColumnSpec",
    "Columns",
    "DataValidationError",
    "Dataset",
    "IdMap",
    "LinliDataError",
    "SourceError",
    "TableSpec",
    "UnknownIdError",
    "Violation",
    "Vocab",
]
