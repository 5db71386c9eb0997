"""``experiment=retrain``: a registered classifier trained again on its own data plus new
images (the folders ``python -m artclf.feedback export`` writes), registered beside it as
``@challenger`` so ``registry action=compare|promote`` decides whether it replaces the
champion.

The recipe (model, data, optimiser, schedule) comes from the version's checkpoint, as a resume
takes it, and the augmentation from its run's logged config; the new folders join
``data.feedback``, so they only add training images and the validation and test splits stay
the champion's. ``retrain.mode=finetune`` starts from the version's weights with the learning
rate scaled by ``retrain.lr_scale``; ``recipe`` trains the recipe from its own start
(pretrained or random weights), for a change the old weights should not anchor.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hydra.core.hydra_config import HydraConfig
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig, OmegaConf, open_dict

from artclf.runtime.config import to_plain
from artclf.runtime.targets import check_targets
from artclf.tracking.queries import connect
from artclf.tracking.registry import model_version, resolve_checkpoint
from artclf.tracking.runs import NAMING_GROUPS
from artclf.training.resume import default_config, reconcile, stored_config
from artclf.weights import checkpoints

log = logging.getLogger(__name__)

MODES = ("finetune", "recipe")


def _settings(cfg: DictConfig) -> DictConfig | None:
    retrain = cfg.get("retrain")
    return retrain if retrain is not None and retrain.get("model") else None


def retrain_config(cfg: DictConfig) -> DictConfig:
    """``cfg`` with the recipe of ``retrain.model``'s checkpoint, the ``retrain.feedback``
    folders added to ``data.feedback`` (training images only), the scaled learning rate
    (finetune) and the registration under the version's own name; ``cfg`` unchanged without
    ``retrain.model``."""
    settings = _settings(cfg)
    if settings is None:
        return cfg
    mode = str(settings.get("mode", "finetune"))
    if mode not in MODES:
        raise ValueError(f"retrain.mode={mode!r}; valid choices: {', '.join(MODES)}")
    if cfg.get("ckpt_path"):
        raise ValueError(
            "experiment=retrain starts a new run from a registered version; drop ckpt_path "
            "(to resume an interrupted retrain, pass its last.ckpt without experiment=retrain)"
        )
    uri = str(settings.model)
    connect(str(cfg.logger.tracking_uri))  # models:/ names a version of the run's own store
    version = model_version(uri)  # one line naming the known aliases when it is not there
    ckpt = resolve_checkpoint(uri)
    stored = stored_config(ckpt)
    if stored is None:
        raise ValueError(f"{uri} is not a classifier (its checkpoint stores no model and data)")
    name = HydraConfig.get().job.config_name if HydraConfig.initialized() else "train"
    defaults = default_config(str(name))
    groups = reconcile(cfg, stored, defaults, uri)
    trained_with, choices = source_run(version.run_id)
    if trained_with.get("aug") and to_plain(cfg.aug) == to_plain(defaults.aug):
        groups["aug"] = trained_with["aug"]  # the checkpoint does not store the augmentation
    feedback = [str(Path(f).resolve()) for f in settings.get("feedback") or []]
    missing = [f for f in feedback if not Path(f).is_dir()]
    if missing:
        raise ValueError(
            f"retrain.feedback: no folder {missing[0]}; pass what `python -m artclf.feedback "
            "export` wrote (it prints the folder)"
        )
    groups["data"]["feedback"] = [*(groups["data"].get("feedback") or []), *feedback]
    if mode == "finetune":
        groups["optim"]["lr"] = float(groups["optim"]["lr"]) * float(settings.lr_scale)
    retrained = cfg.copy()
    with open_dict(retrained):
        for group, values in groups.items():
            retrained[group] = OmegaConf.create(values)
        retrained.retrain.checkpoint = str(ckpt)
        retrained.retrain.choices = choices  # the run is named and tagged as the recipe
        retrained.logger.register = True
        retrained.logger.registered_model_name = str(version.name)
    log.info(
        "retraining %s v%s (%s) on its data + %d feedback folder(s)",
        version.name,
        version.version,
        mode,
        len(feedback),
    )
    return retrained


def source_run(run_id: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The resolved config the version's run logged (``config/config.yaml``, read as data:
    any ``_target_`` must be the suite's own) and its config choices (``choice.*`` tags, of
    the groups that name a run); empty when the run or its files are gone."""
    if not run_id:
        return {}, {}
    client = MlflowClient()
    try:
        tags = client.get_run(run_id).data.tags
        with tempfile.TemporaryDirectory() as folder:
            path = client.download_artifacts(run_id, "config/config.yaml", folder)
            config = yaml.safe_load(Path(path).read_text()) or {}
    except (MlflowException, OSError, yaml.YAMLError):
        return {}, {}
    check_targets(config.get("aug"), f"run {run_id}'s config")
    choices = {
        group: tags[f"choice.{group}"] for group in NAMING_GROUPS if f"choice.{group}" in tags
    }
    return config, choices


def start_from_version(module: Any, cfg: DictConfig) -> None:
    """Load the version's weights into ``module`` (``retrain.mode=finetune``). New classes in
    the feedback change the heads' shapes: one line says to retrain the recipe instead."""
    settings = _settings(cfg)
    if settings is None or str(settings.get("mode", "finetune")) != "finetune":
        return
    state = checkpoints.read(settings.checkpoint)["state_dict"]
    own = module.state_dict()
    changed = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if changed:
        raise ValueError(
            f"the new data changes the classes of {settings.model} (layer {changed[0]} has "
            f"shape {tuple(own[changed[0]].shape)}, the version {tuple(state[changed[0]].shape)}); "
            "retrain.mode=recipe trains its recipe from the start on the new classes"
        )
    module.load_state_dict(state)
