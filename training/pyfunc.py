"""The bundle as an MLflow pyfunc model, so the registry can hold it and anything can load it."""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

from features.columns import Columns as C
from training.bundle import ModelBundle

#: Requirements logged with the model (pinned: inferring them is slow and imprecise).
PIP_PACKAGES = ("numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "lightgbm", "implicit", "pydantic", "mlflow")


def pip_requirements() -> list[str]:
    """``name==version`` of the packages a bundle needs, from the running environment."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in PIP_PACKAGES]


class LinliPyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper: input rows ``resident_id`` (and optionally ``k``) → recommendation rows."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        """Load the bundle file logged as the ``bundle`` artifact."""
        self.bundle = ModelBundle.load(context.artifacts["bundle"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
                ) -> pd.DataFrame:
        """Recommend for every ``resident_id`` in ``model_input``; ``params={"k": 10}`` sets the list length."""
        k = int((params or {}).get("k", 10))
        ids = model_input[C.RESIDENT].astype(str).tolist()
        return self.bundle.recommend(ids, k)
