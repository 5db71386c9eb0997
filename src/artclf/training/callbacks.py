"""Lightning callbacks from ``conf/callbacks``: every entry is a ``_target_`` node, built the
one way Hydra builds objects; ``false``/``null`` or ``enabled: false`` leaves it out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from omegaconf import DictConfig

from artclf.runtime.config import to_plain
from artclf.tracking.best import BestMetric
from artclf.training.finite import StopOnNonFiniteLoss
from artclf.weights import checkpoints

#: Entries that write checkpoints: they get the run's checkpoint folder.
CHECKPOINT_ENTRIES = ("checkpoint", "last_checkpoint")


def configured(node: DictConfig | dict[str, Any], **extra: dict[str, Any]) -> dict[str, Any]:
    """``{name: object}`` for the enabled ``_target_`` entries of ``node``; ``extra[name]``
    adds arguments known only at run time (a checkpoint folder)."""
    built = {}
    for name, spec in to_plain(node).items():
        if not isinstance(spec, dict) or not spec.pop("enabled", True):
            continue
        built[name] = instantiate({**spec, **extra.get(name, {})})
    return built


def run_callbacks(cfg: DictConfig, checkpoint_dir: Path) -> tuple[list[Callback], ModelCheckpoint]:
    """The configured callbacks plus the fixed ones every training has (stop on a non-finite
    loss, random state in checkpoints, the best value of the optimised metric); also the
    best-checkpoint callback, whose score and path the run reports."""
    folder = {name: {"dirpath": str(checkpoint_dir)} for name in CHECKPOINT_ENTRIES}
    built = configured(cfg.callbacks, **folder)
    checkpoint = built.get("checkpoint")
    if not isinstance(checkpoint, ModelCheckpoint):
        raise ValueError("callbacks.checkpoint must be a ModelCheckpoint; the run reports its best")
    fixed = [StopOnNonFiniteLoss(), checkpoints.RandomState()]
    best = BestMetric(str(checkpoint.monitor), str(checkpoint.mode))
    return [*fixed, *built.values(), best], checkpoint
