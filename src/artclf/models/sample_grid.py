"""Per-epoch sample grids of image-to-image models (CycleGAN, AdaIN): one PNG in the run
folder and, under MLflow, the same PNG as an artifact plus a keyed image per epoch."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import MLFlowLogger
from torch import Tensor
from torchvision.utils import make_grid, save_image


def log_sample_grid(module: L.LightningModule, images: Tensor, nrow: int) -> Path:
    """Save ``images`` (``(N, 3, H, W)`` in [0, 1]) as ``samples/epochNNN.png``, ``nrow`` per
    row, and log it to the module's MLflow run; return the file."""
    grid = make_grid(images.clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0)
    path = Path(module.trainer.default_root_dir) / f"samples/epoch{module.current_epoch:03d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, path)
    logger = module.logger
    if isinstance(logger, MLFlowLogger):
        logger.experiment.log_artifact(logger.run_id, str(path), artifact_path="samples")
        array = grid.mul(255).round().byte().permute(1, 2, 0).numpy()
        logger.experiment.log_image(logger.run_id, array, key="samples", step=module.current_epoch)
    return path
