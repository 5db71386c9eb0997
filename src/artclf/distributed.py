"""What changes when a run trains on several processes (``trainer=ddp``)."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig

from artclf.config import to_plain


def one_device_tester(
    trainer: L.Trainer, trainer_cfg: DictConfig, reports: Sequence[Callback] = ()
) -> L.Trainer:
    """The trainer that tests the best checkpoint: ``trainer`` itself after a one-process
    fit; after a multi-process fit, a one-device trainer in this (rank-zero) process with the
    same logger. A distributed test would pad the split with repeated images (so test metrics
    would not be those of ``artclf.evaluate``) and leave the confusion matrix in the worker
    processes, where the reports cannot see it. The new trainer carries ``reports``, the
    callbacks that log the test's reports."""
    if trainer.world_size == 1:
        return trainer
    settings = {**to_plain(trainer_cfg), "devices": 1, "num_nodes": 1, "strategy": "auto"}
    return L.Trainer(
        **settings,
        logger=trainer.logger,
        default_root_dir=trainer.default_root_dir,
        enable_progress_bar=False,
        enable_checkpointing=False,
        callbacks=list(reports),
    )
