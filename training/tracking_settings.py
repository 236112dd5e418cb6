"""The settings every Linli process shares: where data lives and which MLflow store and model it uses.

One home for ``LINLI_DATA_DIR``, ``LINLI_MLFLOW_TRACKING_URI`` / ``MLFLOW_TRACKING_URI`` and ``LINLI_MODEL_NAME``:
the CLI's :class:`linli.settings.Settings` and the API's :class:`serving.settings.ServingSettings` both extend
:class:`TrackingSettings` (``serving`` never imports ``linli``, and both may import ``training``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TrackingSettings(BaseSettings):
    """Shared runtime settings; every field can be set as ``LINLI_<FIELD>`` in the environment.

    Attributes
    ----------
    data_dir : Path
        Where generated data, the feedback database and MLflow files live by default.
    mlflow_tracking_uri : str, optional
        MLflow tracking (and registry) URI; ``LINLI_MLFLOW_TRACKING_URI`` or the standard
        ``MLFLOW_TRACKING_URI``. Default: a SQLite store ``<data_dir>/mlflow.db``; no server needed.
    model_name : str
        Name of the registered model.
    """

    model_config = SettingsConfigDict(env_prefix="LINLI_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    mlflow_tracking_uri: str | None = Field(
        None, validation_alias=AliasChoices("LINLI_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"))
    model_name: str = "linli-recommender"

    def tracking_uri(self) -> str:
        """The MLflow tracking URI in force (the SQLite default under ``data_dir`` when unset).

        Returns
        -------
        str
            ``mlflow_tracking_uri`` when set, else ``sqlite:///<data_dir>/mlflow.db`` (absolute).
        """
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"
