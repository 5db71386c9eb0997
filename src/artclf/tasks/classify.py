"""Classification: the datamodule of ``cfg.data`` (set up, so its classes are known), the
module for those classes, and the callbacks of a classifier (test reports, Grad-CAM grid,
two-phase fine-tuning, EMA weights)."""

from __future__ import annotations

from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig

from artclf.config import to_plain
from artclf.models.ema import ema_callbacks
from artclf.models.module import ClassificationModule
from artclf.tasks import Built
from artclf.tracking.callbacks import GradCamGrid, TestReports


def model_callbacks(model_cfg: DictConfig) -> list[Callback]:
    """What ``model.finetune`` and ``model.ema_decay`` ask for."""
    callbacks: list[Callback] = []
    finetune = model_cfg.get("finetune")
    if finetune:
        from artclf.models.finetune import TwoPhaseFinetuning

        callbacks.append(TwoPhaseFinetuning(int(finetune.switch_epoch), int(finetune.top_layers)))
    return callbacks + ema_callbacks(model_cfg)


def build(cfg: DictConfig) -> Built:
    datamodule = instantiate(cfg.data, augment=cfg.aug, _recursive_=False)
    datamodule.prepare_data()
    datamodule.setup("fit")
    class_names, class_weights = datamodule.head_arguments()
    module = ClassificationModule(
        model=to_plain(cfg.model),
        class_names=class_names,
        optim=to_plain(cfg.optim),
        scheduler=to_plain(cfg.scheduler),
        class_weights=class_weights,
        label_smoothing=float(cfg.model.get("label_smoothing", 0.0)),
        monitor=str(cfg.optimized.metric),
        data=to_plain(cfg.data),
    )
    reports: list[Callback] = [TestReports(), GradCamGrid()]
    return Built(module, datamodule, reports + model_callbacks(cfg.model))
