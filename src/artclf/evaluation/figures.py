"""Evaluation figures and tables: confusion matrix PNG, per-class report, image grids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from torch import Tensor


def per_class_report(scores: Mapping[str, Tensor], classes: list[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, from the computed ``report_metrics``
    (``artclf.models.metrics``)."""
    return pd.DataFrame(
        {
            "class": classes,
            "precision": scores["precision"].cpu().numpy(),
            "recall": scores["recall"].cpu().numpy(),
            "f1": scores["f1"].cpu().numpy(),
            "support": scores["stats"][:, 4].cpu().numpy().astype(int),
        }
    )


def confusion_matrix_figure(confusion: np.ndarray, classes: list[str], title: str = "") -> Figure:
    """Row-normalised confusion matrix with class names on both axes and counts in the cells."""
    confusion = np.asarray(confusion)
    n = len(classes)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = np.nan_to_num(confusion / confusion.sum(axis=1, keepdims=True))
    side = min(4 + 0.45 * n, 24)
    fig, ax = plt.subplots(figsize=(side, side), layout="constrained")
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), classes, rotation=90, fontsize=8)
    ax.set_yticks(range(n), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if confusion[i, j]:
                    colour = "white" if normalised[i, j] > 0.5 else "black"
                    ax.text(
                        j,
                        i,
                        int(confusion[i, j]),
                        ha="center",
                        va="center",
                        fontsize=6,
                        color=colour,
                    )
    fig.colorbar(image, ax=ax, fraction=0.046, label="fraction of true class")
    return fig


def image_grid_figure(
    images: np.ndarray,
    titles: list[str],
    heatmaps: Sequence[np.ndarray | None] | None = None,
    columns: int = 4,
    title: str = "",
) -> Figure:
    """Images (``N×H×W×3``, uint8 or floats in [0, 1]) in a grid with a caption each; with
    ``heatmaps`` (``H×W`` in [0, 1] each, or None) an image gets a translucent overlay."""
    n = len(images)
    columns = max(1, min(columns, n))
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(
        rows, columns, figsize=(2.6 * columns, 2.9 * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.flat:
        ax.axis("off")
    for i, ax in enumerate(axes.flat[:n]):
        ax.imshow(images[i])
        if heatmaps is not None and heatmaps[i] is not None:
            ax.imshow(heatmaps[i], cmap="jet", alpha=0.45, vmin=0, vmax=1)
        ax.set_title(titles[i], fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def mistakes_figure(
    images: np.ndarray, targets: np.ndarray, probs: Tensor, classes: list[str], count: int = 16
) -> Figure | None:
    """The ``count`` wrong predictions made with the highest confidence (None: no mistakes)."""
    confidence, predicted = probs.max(dim=1)
    wrong = np.flatnonzero(predicted.numpy() != targets)
    worst = wrong[np.argsort(-confidence.numpy()[wrong])][:count]
    if not len(worst):
        return None
    titles = [
        f"true {classes[targets[i]]}\npred {classes[predicted[i]]} {confidence[i]:.2f}"
        for i in worst
    ]
    return image_grid_figure(images[worst], titles, title="most confident mistakes")
