"""Where datasets come from: folders of CSV/Parquet, SQL databases, RecBole atomic files (MovieLens), and the
synthetic community."""

from datetime import datetime

import pandas as pd

from features.dataset import Dataset
from features.sources.folder import load_folder, read_folder_frames
from features.sources.movielens import load_movielens_100k, load_recbole
from features.sources.sql import load_sql, write_sql
from features.time_bounds import bound_history

__all__ = ["load", "load_folder", "load_movielens_100k", "load_recbole", "load_sql", "read_folder_frames",
           "write_sql"]


def load(location: str, *, strict: bool = True, now: pd.Timestamp | datetime | str | None = None) -> Dataset:
    """Load a dataset from a folder path or a SQLAlchemy database URL (anything containing ``://``).

    Interactions dated at or after ``now`` (default: the clock plus a small skew) or before 1990 are dropped,
    counted in ``dropped["interactions_out_of_time"]`` and warned about (:func:`features.time_bounds.bound_history`):
    one stray row must not move every time window.
    """
    dataset = load_sql(location, strict=strict) if "://" in location else load_folder(location, strict=strict)
    return bound_history(dataset, now)
