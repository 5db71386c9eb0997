"""CycleGAN (``experiment=cyclegan_monet``): ``artclf.models.cyclegan`` builds it."""

from __future__ import annotations

from omegaconf import DictConfig

from artclf.tasks import Built
from artclf.tracking.callbacks import SampleGrid


def build(cfg: DictConfig) -> Built:
    from artclf.models.cyclegan import build_cyclegan

    module, datamodule = build_cyclegan(cfg)
    grid = SampleGrid(int(cfg.cyclegan.n_samples), value_range=(-1.0, 1.0))
    return Built(module, datamodule, [grid])
