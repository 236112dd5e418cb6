"""Linli's settings, read from ``LINLI_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from training.tracking_settings import TrackingSettings


class Settings(TrackingSettings):
    """Runtime settings. Every field can be set as ``LINLI_<FIELD>`` in the environment.

    Attributes
    ----------
    data_dir : Path
        Where generated data, the feedback database and MLflow files live by default.
    seed : int
        Default random seed for generation, sampling and training.
    demo_residents : int
        Size of the synthetic community the main job generates.
    mlflow_tracking_uri : str, optional
        MLflow tracking (and registry) URI; ``LINLI_MLFLOW_TRACKING_URI`` or the standard
        ``MLFLOW_TRACKING_URI``. Default: a SQLite store ``<data_dir>/mlflow.db`` with artifacts in
        ``<data_dir>/mlartifacts`` — no server needed.
    model_name : str
        Name of the registered model.
    artifact_key : SecretStr, optional
        HMAC key (16 characters or more) that signs every model artifact at training and is checked before
        serving reads one. Unset: a random key is kept in ``artifact_key_file`` (see
        :mod:`recommenders.signing`, ``docs/reliability/artifacts.md``).
    artifact_key_file : Path, optional
        Where the generated key lives when ``artifact_key`` is unset; default ``<data_dir>/artifact.key``
        (mode 600, made by the first training).
    """

    model_config = SettingsConfigDict(env_prefix="LINLI_", env_file=".env", extra="ignore")

    seed: int = 42
    demo_residents: int = 20_000
    artifact_key: SecretStr | None = None
    artifact_key_file: Path | None = None

    def artifact_location(self) -> str:
        """Where new experiments keep artifacts when the default store is used."""
        return (self.data_dir / "mlartifacts").resolve().as_uri()


def get_settings() -> Settings:
    """Settings as the environment says now."""
    return Settings()
