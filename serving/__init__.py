"""Linli serving: the recommendation API (FastAPI) and the durable feedback store.

``create_app`` and the settings are imported lazily, so ``import serving.store`` stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ServingSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from serving.app import create_app

        return create_app
    if name == "ServingSettings":
        from serving.settings import ServingSettings

        return ServingSettings
    raise AttributeError(f"module 'serving' has no attribute {name!r}")
