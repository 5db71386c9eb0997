"""Attribution overlays of a classifier's predictions: the maps of a batch of images, one
overlay figure per image (``artclf.explain``), and the Grad-CAM grid of right and wrong test
predictions that a training run logs (``artclf.training.report_callbacks.GradCamGrid``).

Attributions run on the device of the one device policy (``artclf.runtime.devices``), in float32.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from artclf.evaluation.attributions import attribute, explainable_copy
from artclf.evaluation.figures import image_grid_figure
from artclf.inference.classifier import predict_probabilities, to_model_input
from artclf.models.module import ClassificationModule
from artclf.runtime.devices import device_policy
from artclf.runtime.progress import progress


def attribution_maps(
    module: ClassificationModule,
    images: np.ndarray,
    targets: np.ndarray,
    method: str = "gradcam",
    task: str | None = None,
    batch_size: int = 16,
    shown: bool = True,
) -> np.ndarray:
    """``N×H×W`` maps in [0, 1] for uint8 ``NHWC`` ``images`` and class indices ``targets``;
    ``shown``: the batches' progress, as ``predict_probabilities``'."""
    device = device_policy().device
    net = explainable_copy(module.net).to(device)
    maps = []
    starts = range(0, len(images), batch_size)
    for start in progress(starts, method, unit=f"batches of {batch_size}") if shown else starts:
        batch = to_model_input(images[start : start + batch_size]).to(device)
        target = torch.tensor(targets[start : start + batch_size], dtype=torch.long, device=device)
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
    probs = predict_probabilities(module, images, shown=False)[task]  # a training's report
    confidence, predicted = probs.max(dim=1)
    order = np.random.default_rng(0).permutation(len(images))  # a spread of classes, not the first
    right = order[predicted.numpy()[order] == targets[order]][:per_group]
    wrong = order[predicted.numpy()[order] != targets[order]][:per_group]
    chosen = np.concatenate([right, wrong])
    if not len(chosen):
        return None
    maps = attribution_maps(
        module, images[chosen], predicted.numpy()[chosen], task=task, shown=False
    )
    titles = [
        f"{'✓' if i in right else '✗'} true {classes[targets[i]]}\n"
        f"pred {classes[predicted[i]]} {confidence[i]:.2f}"
        for i in chosen
    ]
    return image_grid_figure(
        images[chosen], titles, maps, title=f"Grad-CAM: {len(right)} right, {len(wrong)} wrong"
    )


def write_overlays(
    module: ClassificationModule,
    paths: list[Path],
    images: np.ndarray,
    out_dir: Path,
    method: str = "gradcam",
    task: str | None = None,
    target: str | None = None,
) -> list[Path]:
    """One PNG per image in ``out_dir``: the image beside the attribution of its predicted
    class of ``task`` (or of class ``target`` when given); return the files."""
    task = task or next(iter(module.tasks))
    if task not in module.tasks:
        raise ValueError(f"task={task!r}; this checkpoint has tasks: {', '.join(module.tasks)}")
    classes = module.tasks[task]
    confidence, predicted = predict_probabilities(module, images)[task].max(dim=1)
    targets = predicted.numpy()
    if target is not None:
        if target not in classes:
            raise ValueError(f"target={target!r} is not a class of this checkpoint: {classes}")
        targets = np.full(len(images), classes.index(target))
    maps = attribution_maps(module, images, targets, method=method, task=task)
    written = []
    for i, path in progress(list(enumerate(paths)), "explain", unit="overlays"):
        name = path.name if len(path.name) <= 36 else path.name[:33] + "..."
        caption = (
            f"pred {classes[predicted[i]]} {confidence[i]:.2f}\n{method} for {classes[targets[i]]}"
        )
        figure = image_grid_figure(
            np.stack([images[i], images[i]]), [name, caption], [None, maps[i]], columns=2
        )
        written.append(out_dir / f"{i:04d}_{path.stem}_{method}.png")
        figure.savefig(written[-1], dpi=110)
        plt.close(figure)
    return written
