"""The CycleGAN module and its unpaired datamodule from a training config."""

from __future__ import annotations

import lightning as L
from omegaconf import DictConfig, OmegaConf

from artclf.style.cyclegan.module import CycleGAN


def build_cyclegan(cfg: DictConfig) -> tuple[L.LightningModule, L.LightningDataModule]:
    """The module from ``cfg.cyclegan`` and the datamodule from ``cfg.data`` (``data=unpaired``)."""
    from artclf.data.unpaired import UnpairedDataModule

    data = OmegaConf.to_container(cfg.data, resolve=True)
    module_args = OmegaConf.to_container(cfg.cyclegan, resolve=True)
    module_args.pop("n_samples", None)  # the sample grid's (artclf.training.tasks.cyclegan)
    datamodule = UnpairedDataModule(**data)
    module = CycleGAN(**module_args, max_epochs=int(cfg.trainer.max_epochs))
    return module, datamodule
