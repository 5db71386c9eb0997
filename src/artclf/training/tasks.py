"""What ``artclf.train`` fits, one ``Task`` record per kind of training (``task``: ``classify``,
or ``cyclegan``/``adain`` set by their presets). Everything that differs between them is
decided here and nowhere else: how the module, datamodule and callbacks are built, what a run
is named after, which checks run before it, the MLflow Model it logs and the name it
registers under."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig

from artclf.publishing.publish import publish_classifier, publish_style_network
from artclf.runtime.config import to_plain
from artclf.tracking.registry import default_model_name
from artclf.training.resume import config_from_checkpoint
from artclf.training.retrain import retrain_config, start_from_version


class Built(NamedTuple):
    """A task ready to fit: its module, its datamodule and the callbacks only it needs."""

    module: L.LightningModule
    datamodule: L.LightningDataModule
    callbacks: list[Callback]


@dataclass(frozen=True)
class Task:
    """One kind of training."""

    name: str
    #: the module, the (set up) datamodule and the callbacks only this task needs
    build: Callable[[DictConfig], Built]
    #: the config groups whose choices name its runs (``resnet18_224-light-s42``)
    naming_groups: tuple[str, ...]
    #: the registered model's name when the config names none
    registered_name: Callable[[DictConfig], str]
    #: log its MLflow Model to the run and register it:
    #: (cfg, run id, trainer, built, best checkpoint, registered name)
    publish: Callable[[DictConfig, str, L.Trainer, Built, str, str], None]
    #: checks of its own before any run exists (the shared ones are in ``validation``)
    validate: Callable[[DictConfig], None] = lambda cfg: None
    #: the config to resume ``cfg.ckpt_path`` with (what the checkpoint fixes taken from it)
    resume_config: Callable[[DictConfig], DictConfig] = lambda cfg: cfg


# ---------------------------------------------------------------------------- classify


def model_callbacks(model_cfg: DictConfig) -> list[Callback]:
    """What ``model.finetune`` and ``model.ema_decay`` ask for."""
    from artclf.training.ema import ema_callbacks

    callbacks: list[Callback] = []
    finetune = model_cfg.get("finetune")
    if finetune:
        from artclf.training.finetune import TwoPhaseFinetuning

        if model_cfg.get("freeze_mode", "train") != "train":
            raise ValueError(
                f"model.finetune trains every layer in its first phase, and "
                f"model.freeze_mode={model_cfg.freeze_mode} runs the frozen ones as inference; "
                "set model.freeze_mode=train or model.finetune=null"
            )
        callbacks.append(TwoPhaseFinetuning(int(finetune.switch_epoch), int(finetune.top_layers)))
    return callbacks + ema_callbacks(model_cfg)


def build_classifier(cfg: DictConfig) -> Built:
    """The datamodule of ``cfg.data`` (set up, so its classes are known), the module for those
    classes, and a classifier's callbacks (test reports, Grad-CAM grid, two-phase
    fine-tuning, EMA weights); ``experiment=retrain`` starts it from a registered version."""
    from artclf.models.module import ClassificationModule
    from artclf.training.report_callbacks import GradCamGrid, MonitoringReference, TestReports

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
    start_from_version(module, cfg)
    reports: list[Callback] = [TestReports(), GradCamGrid(), MonitoringReference()]
    callbacks = reports + model_callbacks(cfg.model)
    if cfg.model.get("freeze_mode") == "cached":  # once the weights are final
        from artclf.training.feature_cache import attach_feature_cache

        attach_feature_cache(module.net, datamodule, int(cfg.model.cache_views))
    return Built(module, datamodule, callbacks)


def publish_classifier_run(
    cfg: DictConfig, run_id: str, trainer: L.Trainer, built: Built, best: str, name: str
) -> None:
    publish_classifier(cfg, run_id, trainer, built.module, built.datamodule, best, name)


def validate_classifier(cfg: DictConfig) -> None:
    from artclf.training.validation import check_classifier_metric, check_model_input

    check_classifier_metric(cfg)
    check_model_input(cfg)


# ---------------------------------------------------------------------------- style networks


def build_cyclegan(cfg: DictConfig) -> Built:
    from artclf.style.cyclegan import build_cyclegan as build
    from artclf.training.report_callbacks import SampleGrid

    module, datamodule = build(cfg)
    grid = SampleGrid(int(cfg.cyclegan.n_samples), value_range=(-1.0, 1.0))
    return Built(module, datamodule, [grid])


def build_adain(cfg: DictConfig) -> Built:
    from artclf.style.adain_model import build_adain as build
    from artclf.training.report_callbacks import SampleGrid

    module, datamodule = build(cfg)
    grid = SampleGrid(int(cfg.adain.n_samples), value_range=(0.0, 1.0))
    return Built(module, datamodule, [grid])


def publish_cyclegan(
    cfg: DictConfig, run_id: str, trainer: L.Trainer, built: Built, best: str, name: str
) -> None:
    from artclf.publishing.cyclegan import log_cyclegan

    def log_model(ckpt: str, config: dict, first_a: bytes, first_b: bytes) -> None:
        log_cyclegan(ckpt, config, first_a)  # one translator input: the first domain's image

    publish_style_network(cfg, run_id, trainer, built.datamodule, best, name, log_model)


def publish_adain(
    cfg: DictConfig, run_id: str, trainer: L.Trainer, built: Built, best: str, name: str
) -> None:
    from artclf.publishing.adain import log_adain

    publish_style_network(cfg, run_id, trainer, built.datamodule, best, name, log_adain)


# ---------------------------------------------------------------------------- the table

#: Style networks are named after what they train (their data folders), not after
#: ``model=``, which they never use.
TASKS: dict[str, Task] = {
    "classify": Task(
        name="classify",
        build=build_classifier,
        naming_groups=("experiment", "data", "model", "aug"),
        registered_name=default_model_name,
        publish=publish_classifier_run,
        validate=validate_classifier,
        resume_config=lambda cfg: config_from_checkpoint(retrain_config(cfg)),
    ),
    "cyclegan": Task(
        name="cyclegan",
        build=build_cyclegan,
        naming_groups=("experiment", "data"),
        registered_name=lambda cfg: "cyclegan",
        publish=publish_cyclegan,
    ),
    "adain": Task(
        name="adain",
        build=build_adain,
        naming_groups=("experiment", "data"),
        registered_name=lambda cfg: "adain",
        publish=publish_adain,
    ),
}


def task_of(cfg: DictConfig) -> Task:
    """The ``Task`` of ``cfg.task`` (``classify`` when unset)."""
    name = str(cfg.get("task", "classify"))
    if name not in TASKS:
        raise ValueError(f"task={name!r}; valid choices: {', '.join(TASKS)}")
    return TASKS[name]
