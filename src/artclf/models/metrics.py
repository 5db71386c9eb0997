"""The classification metrics every stage reports, from torchmetrics."""

from __future__ import annotations

from collections.abc import Collection

from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
    MulticlassStatScores,
)


def metric_prefix(stage: str, task: str, tasks: Collection[str]) -> str:
    """``{stage}/`` for a single task, ``{stage}/{task}/`` for one of several: one task keeps
    the names runs have always logged, and presets and the README cite (``val/acc``)."""
    return f"{stage}/{task}/" if len(tasks) > 1 else f"{stage}/"


def classification_metrics(num_classes: int, prefix: str) -> MetricCollection:
    """``{prefix}acc``, macro F1/precision/recall, weighted F1, and top-5 accuracy when there
    are more than five classes."""
    metrics = {
        "acc": MulticlassAccuracy(num_classes, average="micro"),
        "macro_f1": MulticlassF1Score(num_classes, average="macro"),
        "macro_precision": MulticlassPrecision(num_classes, average="macro"),
        "macro_recall": MulticlassRecall(num_classes, average="macro"),
        "weighted_f1": MulticlassF1Score(num_classes, average="weighted"),
    }
    if num_classes > 5:
        metrics["top5_acc"] = MulticlassAccuracy(num_classes, top_k=5, average="micro")
    return MetricCollection(metrics, prefix=prefix)


def report_metrics(num_classes: int) -> MetricCollection:
    """What the test reports show: ``confusion`` (rows true, columns predicted), per-class
    ``precision``, ``recall``, ``f1`` and ``stats`` (tp, fp, tn, fn, support per class)."""
    return MetricCollection(
        {
            "confusion": MulticlassConfusionMatrix(num_classes),
            "precision": MulticlassPrecision(num_classes, average=None),
            "recall": MulticlassRecall(num_classes, average=None),
            "f1": MulticlassF1Score(num_classes, average=None),
            "stats": MulticlassStatScores(num_classes, average=None),
        },
        compute_groups=False,
    )
