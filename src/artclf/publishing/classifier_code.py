"""The file MLflow stores as the logged model's code ("models from code", no pickle): loading
the model runs it, which needs only ``artclf`` installed."""

from mlflow.models import set_model

from artclf.publishing.classifier import ImageClassifier

set_model(ImageClassifier())
