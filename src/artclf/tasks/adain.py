"""An AdaIN decoder (``experiment=adain``): ``artclf.models.adain`` builds it."""

from __future__ import annotations

from omegaconf import DictConfig

from artclf.tasks import Built


def build(cfg: DictConfig) -> Built:
    from artclf.models.adain import build_adain

    module, datamodule = build_adain(cfg)
    return Built(module, datamodule, [])
