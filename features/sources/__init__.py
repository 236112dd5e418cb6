"""Where datasets come from: folders of CSV/Parquet, SQL databases, RecBole atomic files (MovieLens), and the
synthetic community."""

from features.sources.folder import load_folder, read_folder_frames
from features.sources.movielens import load_movielens_100k, load_recbole
from features.sources.sql import load_sql, write_sql

__all__ = ["load", "load_folder", "load_movielens_100k", "load_recbole", "load_sql", "read_folder_frames",
           "write_sql"]


def load(location: str, *, strict: bool = True):
    """Load a dataset from a folder path or a SQLAlchemy database URL (anything containing ``://``)."""
    if "://" in location:
        return load_sql(location, strict=strict)
    return load_folder(location, strict=strict)
