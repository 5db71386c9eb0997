"""``python -m artclf.explain ckpt_path=... input=IMAGE_OR_DIR [method=gradcam|ig|occlusion]``:
attribution maps overlaid on the images, one PNG per image, also logged to MLflow (a new run
tagged with the checkpoint's training run). Training calls ``prediction_grid_figure`` to log
a Grad-CAM grid of right and wrong test predictions.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from omegaconf import DictConfig

from artclf.attributions import attribute, explainable_copy
from artclf.cli import run_or_exit
from artclf.inference import (
    image_paths,
    load_module,
    predict_probabilities,
    read_as_trained,
    to_model_input,
)
from artclf.models.module import ClassificationModule
from artclf.reports import image_grid_figure
from artclf.tracking.registry import resolve_ckpt_option
from artclf.validation import check_writable_dir

log = logging.getLogger(__name__)


def attribution_maps(
    module: ClassificationModule,
    images: np.ndarray,
    targets: np.ndarray,
    method: str = "gradcam",
    task: str | None = None,
    batch_size: int = 16,
) -> np.ndarray:
    """``N×H×W`` maps in [0, 1] for uint8 ``NHWC`` ``images`` and class indices ``targets``."""
    net = explainable_copy(module.net)
    maps = []
    for start in range(0, len(images), batch_size):
        batch = to_model_input(images[start : start + batch_size])
        target = torch.tensor(targets[start : start + batch_size], dtype=torch.long)
        maps.append(attribute(net, batch, target, method=method, task=task))
    return np.concatenate(maps)


def prediction_grid_figure(
    module: ClassificationModule, images: np.ndarray, targets: np.ndarray, per_group: int = 8
) -> Figure | None:
    """Grad-CAM of up to ``per_group`` right and ``per_group`` wrong predictions (first task,
    images drawn with a fixed seed), captioned with true and predicted class; None when there
    is nothing to show."""
    task = next(iter(module.tasks))
    classes = module.tasks[task]
    probs = predict_probabilities(module, images)[task]
    confidence, predicted = probs.max(dim=1)
    order = np.random.default_rng(0).permutation(len(images))  # a spread of classes, not the first
    right = order[predicted.numpy()[order] == targets[order]][:per_group]
    wrong = order[predicted.numpy()[order] != targets[order]][:per_group]
    chosen = np.concatenate([right, wrong])
    if not len(chosen):
        return None
    maps = attribution_maps(module, images[chosen], predicted.numpy()[chosen], task=task)
    titles = [
        f"{'✓' if i in right else '✗'} true {classes[targets[i]]}\n"
        f"pred {classes[predicted[i]]} {confidence[i]:.2f}"
        for i in chosen
    ]
    return image_grid_figure(
        images[chosen], titles, maps, title=f"Grad-CAM: {len(right)} right, {len(wrong)} wrong"
    )


def explain(cfg: DictConfig) -> list[Path]:
    """Write one overlay PNG per input image (image | attribution of the predicted class, or
    of ``target`` when given); return their paths."""
    out_dir = check_writable_dir(cfg.output_dir, "output_dir")
    resolve_ckpt_option(cfg)
    module = load_module(cfg.ckpt_path)
    task = cfg.get("task") or next(iter(module.tasks))
    if task not in module.tasks:
        raise ValueError(f"task={task!r}; this checkpoint has tasks: {', '.join(module.tasks)}")
    classes = module.tasks[task]
    paths, images = read_as_trained(module, image_paths(cfg.input), cfg.get("resize"))
    probs = predict_probabilities(module, images)[task]
    confidence, predicted = probs.max(dim=1)
    targets = predicted.numpy()
    if cfg.get("target") is not None:
        if cfg.target not in classes:
            raise ValueError(f"target={cfg.target!r} is not a class of this checkpoint: {classes}")
        targets = np.full(len(images), classes.index(cfg.target))
    maps = attribution_maps(module, images, targets, method=str(cfg.method), task=task)
    written = []
    for i, path in enumerate(paths):
        name = path.name if len(path.name) <= 36 else path.name[:33] + "..."
        caption = (
            f"pred {classes[predicted[i]]} {confidence[i]:.2f}\n"
            f"{cfg.method} for {classes[targets[i]]}"
        )
        figure = image_grid_figure(
            np.stack([images[i], images[i]]), [name, caption], [None, maps[i]], columns=2
        )
        target_file = out_dir / f"{i:04d}_{path.stem}_{cfg.method}.png"
        figure.savefig(target_file, dpi=110)
        plt.close(figure)
        written.append(target_file)
    log_to_mlflow(cfg, out_dir)
    log.info("wrote %d %s overlays to %s", len(written), cfg.method, out_dir)
    return written


def log_to_mlflow(cfg: DictConfig, folder: Path) -> None:
    """Log ``folder`` as the artifacts of a new run linked to the source training run."""
    if not cfg.logger.enabled:
        return
    import mlflow

    from artclf.tracking.derived import derived_run

    with derived_run(cfg, cfg.ckpt_path) as run:
        mlflow.log_artifacts(str(folder), artifact_path=cfg.task_name, run_id=run.info.run_id)


@hydra.main(version_base="1.3", config_path="conf", config_name="explain")
def main(cfg: DictConfig) -> None:
    run_or_exit(explain, cfg)


if __name__ == "__main__":
    main()
