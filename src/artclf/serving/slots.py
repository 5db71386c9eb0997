"""One registered version, loaded in the inference worker: its network (on CUDA where there
is one, for good: no copy per request), what it answers for (``models:/<name>@<alias>``) and
its card."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import Tensor

from artclf.data.resize import checkpoint_resize
from artclf.inference.classifier import load_module
from artclf.models.module import ClassificationModule
from artclf.monitoring.embedding import scored
from artclf.runtime.devices import device_policy

#: Where ``make ui`` serves the MLflow UI; cards link into it (as the web app's do).
MLFLOW_UI = os.environ.get("ARTCLF_MLFLOW_UI", "http://127.0.0.1:5000")


@dataclass(frozen=True)
class Slot:
    """A version serving under one alias: ``uri`` as configured, ``version`` as resolved."""

    uri: str
    name: str
    version: str
    module: ClassificationModule
    card: dict[str, Any]

    def score(self, images: np.ndarray) -> tuple[dict[str, Tensor], Tensor]:
        """Per task ``(N, classes)`` probabilities (``predict_probabilities``: predict's
        numbers) and ``(N, features)`` pooled features (what monitoring compares), one pass."""
        return scored(self.module, images)

    @property
    def alias(self) -> str | None:
        return self.uri.rpartition("@")[2] if "@" in self.uri else None

    @property
    def tasks(self) -> dict[str, list[str]]:
        return self.module.tasks

    @property
    def reading(self) -> tuple[int, str]:
        """How its images are read: the side and the resize policy it trained with."""
        hparams = self.module.hparams
        return int(hparams.model["image_size"]), checkpoint_resize(hparams.get("data"))


def load_slot(uri: str, version, client) -> Slot:
    """``version`` (a ``ModelVersion`` the alias of ``uri`` names) loaded, pinned by its
    number so a move of the alias meanwhile cannot swap the weights under it."""
    module = load_module(f"models:/{version.name}/{version.version}")  # via checkpoint_file
    module.to(device_policy().device)
    return Slot(uri, version.name, str(version.version), module, card(version, module, client))


def card(version, module: ClassificationModule, client) -> dict[str, Any]:
    """What ``GET /metadata`` says of a version: classes, preprocessing, data, test accuracy,
    and a link to its training run."""
    data = module.hparams.get("data") or {}
    accuracy = version.tags.get("test/acc")  # registration copies the run's test metrics
    link = None
    if version.run_id:
        experiment = client.get_run(version.run_id).info.experiment_id
        link = f"{MLFLOW_UI}/#/experiments/{experiment}/runs/{version.run_id}"
    return {
        "model": version.name,
        "version": str(version.version),
        "classes": module.tasks,
        "image_size": int(module.hparams.model["image_size"]),
        "resize": checkpoint_resize(data),
        "dataset": f"{data.get('source', '?')} ({data.get('root', '?')})" if data else "unknown",
        "test_accuracy": None if accuracy is None else float(accuracy),
        "run_id": version.run_id,
        "run_link": link,
    }
