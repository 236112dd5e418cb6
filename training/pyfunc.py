"""The bundle as an MLflow pyfunc model, so the registry can hold it and anything can load it.

The pyfunc is logged as *models from code* (:data:`MODEL_CODE`, a file that builds :class:`LinliPyfunc`), so
MLflow pickles nothing: the logged model is the signed bundle folder (artifact ``bundle``) plus MLflow's own
descriptions. Serving never goes through :func:`mlflow.pyfunc.load_model`; it verifies and reads the bundle folder
directly (:func:`bundle_path`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from features.columns import Columns as C
from training.bundle import ModelBundle

#: Requirements logged with the model (pinned: inferring them is slow and imprecise).
PIP_PACKAGES = ("numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "lightgbm", "implicit", "pydantic", "mlflow")
#: The models-from-code file logged as the pyfunc's python model.
MODEL_CODE = Path(__file__).with_name("pyfunc_model.py")
#: Name of the bundle artifact inside a logged model.
BUNDLE_ARTIFACT = "bundle"


def pip_requirements() -> list[str]:
    """``name==version`` of the packages a bundle needs, from the running environment."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in PIP_PACKAGES]


def bundle_path(model_dir: str | Path) -> Path:
    """The bundle folder inside a downloaded pyfunc model folder."""
    return Path(model_dir) / "artifacts" / BUNDLE_ARTIFACT


class LinliPyfunc(PythonModel):
    """pyfunc wrapper: input rows ``resident_id`` (and optionally ``k``) → recommendation rows."""

    def load_context(self, context: PythonModelContext) -> None:
        """Verify and load the bundle folder logged as the ``bundle`` artifact."""
        self.bundle = ModelBundle.load(context.artifacts[BUNDLE_ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
                ) -> pd.DataFrame:
        """Recommend for every ``resident_id`` in ``model_input``; ``params={"k": 10}`` sets the list length."""
        k = int((params or {}).get("k", 10))
        ids = model_input[C.RESIDENT].astype(str).tolist()
        return self.bundle.recommend(ids, k)
