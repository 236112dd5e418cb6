"""Linli's settings, read from ``LINLI_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime settings. Every field can be set as ``LINLI_<FIELD>`` in the environment.

    Attributes
    ----------
    data_dir : Path
        Where generated data, the feedback database and MLflow files live by default.
    seed : int
        Default random seed for generation, sampling and training.
    demo_residents : int
        Size of the synthetic community the main job generates.
    """

    model_config = SettingsConfigDict(env_prefix="LINLI_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    seed: int = 42
    demo_residents: int = 20_000


def get_settings() -> Settings:
    """Settings as the environment says now."""
    return Settings()
