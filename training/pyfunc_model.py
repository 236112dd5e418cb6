"""Models-from-code entry of the Linli pyfunc: MLflow runs this file to build the python model (nothing pickled)."""

from mlflow.models import set_model

from training.pyfunc import LinliPyfunc

set_model(LinliPyfunc())
