"""An AdaIN decoder (``experiment=adain``): ``artclf.models.adain`` builds it."""

from __future__ import annotations

from omegaconf import DictConfig

from artclf.tasks import Built
from artclf.tracking.callbacks import SampleGrid


def build(cfg: DictConfig) -> Built:
    from artclf.models.adain import build_adain

    module, datamodule = build_adain(cfg)
    grid = SampleGrid(int(cfg.adain.n_samples), value_range=(0.0, 1.0))
    return Built(module, datamodule, [grid])
