"""CycleGAN (``experiment=cyclegan_monet``): ``artclf.models.cyclegan`` builds it."""

from __future__ import annotations

from omegaconf import DictConfig

from artclf.tasks import Built


def build(cfg: DictConfig) -> Built:
    from artclf.models.cyclegan import build_cyclegan

    module, datamodule = build_cyclegan(cfg)
    return Built(module, datamodule, [])
