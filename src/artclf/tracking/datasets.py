"""A run's data in MLflow's dataset tracking (the UI's Dataset column).

One dataset per split, named ``<data choice>/<label scheme>`` with the split as context; the
digest is the data fingerprint (``artclf.data.images.fingerprint``, the prepared cache's
name), the source is the dataset root. Runs on the same files line up under one digest, and a
changed download shows as a new one.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import mlflow
from hydra.core.hydra_config import HydraConfig
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.types import ColSpec, DataType, Schema
from omegaconf import DictConfig

from artclf.tracking.retry import retry_locked

SPLITS = ("train", "val", "test")
COUNT_TAG = "images"


class SplitDataset(MetaDataset):
    """Metadata of one split: its image and class counts are the profile the UI shows."""

    def __init__(self, root: str, name: str, digest: str, counts: dict[str, int]) -> None:
        with warnings.catch_warnings():  # MLflow registers its local source twice: ambiguous
            warnings.simplefilter("ignore", UserWarning)
            source = resolve_dataset_source(root)
        schema = Schema([ColSpec(DataType.string, "path"), ColSpec(DataType.string, "label")])
        self._counts = dict(counts)
        super().__init__(source, name=name, digest=digest, schema=schema)

    @property
    def profile(self) -> dict[str, int]:
        return self._counts

    def to_dict(self) -> dict[str, str]:
        return {**super().to_dict(), "profile": json.dumps(self._counts)}


def dataset_name(data_choice: str, labels: Any) -> str:
    """``synthetic/origin_style``; several label columns (multi-task) join with ``+``."""
    scheme = labels if isinstance(labels, str) else "+".join(str(c) for c in labels)
    return f"{data_choice}/{scheme}"


def data_choice(cfg: DictConfig) -> str:
    """The ``data=`` option of the run (``synthetic``), or its reader outside a Hydra app."""
    if HydraConfig.initialized():
        choice = HydraConfig.get().runtime.choices.get("data")
        if choice:
            return str(choice)
    return str(cfg.data.source)


def log_data_inputs(cfg: DictConfig, datamodule: Any) -> None:
    """Log each non-empty split of a set-up ``ArtDataModule`` as an input of the active run."""
    name = dataset_name(data_choice(cfg), datamodule.labels)
    classes = len(datamodule.classes)
    datasets, contexts, tags = [], [], []
    for split in SPLITS:
        count = int(datamodule.split_sizes[split])
        if count:
            counts = {"images": count, "classes": classes}
            root, digest = datamodule.root, datamodule.fingerprint
            datasets.append(SplitDataset(root, f"{name}/{split}", digest, counts))
            contexts.append(split)
            tags.append({COUNT_TAG: str(count)})
    retry_locked(mlflow.log_inputs, datasets, contexts, tags)  # every job logs the same data
