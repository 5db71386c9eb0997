"""A seed ensemble in evaluate: ``ckpt_path=[a,b,c]`` averages the checkpoints' probabilities.

Models trained with different seeds make partly independent mistakes, so their averaged
probabilities are usually better than any one of them. The members must agree on what they
predict (tasks, classes in order) and on how they read images (size, ``data.resize``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import Tensor

from artclf.data.resize import checkpoint_resize
from artclf.inference.classifier import load_module, predict_probabilities
from artclf.models.module import ClassificationModule


def checkpoint_list(ckpt_path: str | Sequence[str]) -> list[str]:
    """One path or a list of them (Hydra gives a ListConfig for ``ckpt_path=[a,b]``)."""
    paths = [ckpt_path] if isinstance(ckpt_path, str) else [str(p) for p in ckpt_path]
    if not paths:
        raise ValueError("ckpt_path=[] names no checkpoint; pass one path or a list of them")
    return paths


def _reads(module: ClassificationModule) -> tuple[int, str]:
    return int(module.hparams.model["image_size"]), checkpoint_resize(module.hparams.get("data"))


def load_ensemble(ckpt_path: str | Sequence[str]) -> list[ClassificationModule]:
    """The modules of every checkpoint, checked to be interchangeable."""
    modules = [load_module(path) for path in checkpoint_list(ckpt_path)]
    first = modules[0]
    for path, other in zip(checkpoint_list(ckpt_path)[1:], modules[1:], strict=True):
        if other.tasks != first.tasks:
            raise ValueError(
                f"{path} predicts {other.tasks}, the first checkpoint {first.tasks}; "
                "ensemble checkpoints trained on the same classes"
            )
        if _reads(other) != _reads(first):
            raise ValueError(
                f"{path} reads images as (size, resize) {_reads(other)}, the first checkpoint "
                f"as {_reads(first)}; ensemble checkpoints of one model config"
            )
    return modules


def ensemble_probabilities(
    modules: Sequence[ClassificationModule], images: np.ndarray, batch_size: int, tta: str
) -> dict[str, Tensor]:
    """The members' probabilities per task, averaged."""
    total: dict[str, Tensor] = {}
    for module in modules:
        for task, probs in predict_probabilities(module, images, batch_size, tta).items():
            total[task] = total[task] + probs if task in total else probs
    return {task: value / len(modules) for task, value in total.items()}
