"""The file MLflow stores as the logged model's code ("models from code", no pickle): loading
the model runs it, which needs only ``artclf`` installed."""

from artclf.tracking.pyfunc_model import ImageClassifier
from mlflow.models import set_model

set_model(ImageClassifier())
