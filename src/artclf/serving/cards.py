"""What ``GET /metadata`` says of a served version: its kind, what it takes and how, and a link
to its training run. A style model's options and their defaults are its logged MLflow Model's
parameters (the signature training logged), so ``/stylize`` and ``pyfunc.predict`` take the
same ones with the same defaults."""

from __future__ import annotations

import os
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException

from artclf.data.resize import checkpoint_resize
from artclf.models.module import ClassificationModule
from artclf.serving.inputs import MAX_SIZE
from artclf.serving.kinds import CLASSIFIER, ROUTES

#: Where ``make ui`` serves the MLflow UI; cards link into it (as the web app's do).
MLFLOW_UI = os.environ.get("ARTCLF_MLFLOW_UI", "http://127.0.0.1:5000")


def run_card(version, kind: str, client) -> dict[str, Any]:
    """What every card says: the version, its kind, the route that answers, its run."""
    link = None
    if version.run_id:
        experiment = client.get_run(version.run_id).info.experiment_id
        link = f"{MLFLOW_UI}/#/experiments/{experiment}/runs/{version.run_id}"
    return {
        "model": version.name,
        "version": str(version.version),
        "endpoint": f"POST {ROUTES[kind][0]}",
        "run_id": version.run_id,
        "run_link": link,
    }


def classifier_card(version, module: ClassificationModule, client) -> dict[str, Any]:
    """Classes, preprocessing, data and test accuracy."""
    data = module.hparams.get("data") or {}
    accuracy = version.tags.get("test/acc")  # registration copies the run's test metrics
    return {
        **run_card(version, CLASSIFIER, client),
        "kind": "image-classifier",
        "classes": module.tasks,
        "image_size": int(module.hparams.model["image_size"]),
        "resize": checkpoint_resize(data),
        "dataset": f"{data.get('source', '?')} ({data.get('root', '?')})" if data else "unknown",
        "test_accuracy": None if accuracy is None else float(accuracy),
    }


def style_card(version, kind: str, client) -> dict[str, Any]:
    """The logged model's description (kind, inputs, directions and domains of a CycleGAN)
    and its parameters with their defaults (``size``: the training size); ``max_size``."""
    uri = f"models:/{version.name}/{version.version}"
    try:
        logged = mlflow.models.get_model_info(uri)
    except (MlflowException, OSError):
        logged = None
    if logged is None or logged.signature is None or logged.signature.params is None:
        raise ValueError(
            f"{uri} has no logged style model (its parameters are /stylize's options); "
            "register a run that logged one (logger.log_model=true, the default)"
        )
    described = dict((logged.metadata or {}).get("artclf", {}))
    described.pop("preprocessing", None)  # says "param size": the options below say it
    options = {param.name: param.default for param in logged.signature.params}
    return {
        **run_card(version, kind, client),
        **described,
        "method": kind,
        "options": options,
        "max_size": MAX_SIZE,
    }
