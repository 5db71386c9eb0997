"""The file MLflow stores as the logged AdaIN model's code ("models from code", no pickle):
loading the model runs it, which needs only ``artclf`` installed."""

from mlflow.models import set_model

from artclf.publishing.adain import StyleTransfer

set_model(StyleTransfer())
