"""Scoring an evaluation's probabilities with the metric objects training uses
(``artclf.models.metrics``), and writing each task's reports.

Why not ``trainer.test``: it runs one checkpoint's own ``test_step`` over its datamodule's
splits, while a seed ensemble (``ckpt_path=[a,b,c]``) and TTA average several forward passes
before any metric, and ``eval_split=all`` or another ``data.root`` is no split of a
datamodule; so evaluate shares the metric objects instead of the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import Tensor

from artclf.evaluation.figures import confusion_matrix_figure, mistakes_figure, per_class_report
from artclf.models.metrics import classification_metrics, metric_prefix, report_metrics
from artclf.runtime.progress import progress


@dataclass
class Evaluation:
    """Metrics, and the confusion matrix and classes of every task (a single-task checkpoint
    has one)."""

    metrics: dict[str, float]
    confusions: dict[str, np.ndarray]
    tasks: dict[str, list[str]]
    output_dir: Path
    #: evaluated images the checkpoint was trained (``train``) or selected (``val``) on
    seen: dict[str, int] = field(default_factory=dict)


@dataclass
class TaskScores:
    """One task's metrics (named as training logs them), confusion matrix and per-class
    report."""

    metrics: dict[str, float]
    confusion: np.ndarray
    report: pd.DataFrame


def score_task(probs: Tensor, targets: np.ndarray, classes: list[str], prefix: str) -> TaskScores:
    """``probs`` (N, classes) against ``targets`` (N class indices)."""
    target = torch.tensor(np.asarray(targets), dtype=torch.long)
    collection = classification_metrics(len(classes), prefix)
    metrics = {k: float(v) for k, v in collection(probs, target).items()}
    scores = report_metrics(len(classes))(probs, target)
    return TaskScores(metrics, scores["confusion"].numpy(), per_class_report(scores, classes))


def write_task_reports(
    scores: TaskScores,
    probs: Tensor,
    targets: np.ndarray,
    images: np.ndarray,
    classes: list[str],
    out_dir: Path,
    title: str,
    suffix: str = "",
) -> None:
    """Confusion matrix PNG, per-class CSV and the most confident mistakes into ``out_dir``."""
    figure = confusion_matrix_figure(scores.confusion, classes, title=title)
    figure.savefig(out_dir / f"confusion_matrix{suffix}.png", dpi=120)
    plt.close(figure)
    scores.report.to_csv(out_dir / f"per_class_report{suffix}.csv", index=False)
    figure = mistakes_figure(images, targets, probs, classes)
    if figure is not None:
        figure.savefig(out_dir / f"confident_mistakes{suffix}.png", dpi=110)
        plt.close(figure)


def score_checkpoint(
    tasks: dict[str, list[str]],
    probs: dict[str, Tensor],
    table: pd.DataFrame,
    images: np.ndarray,
    split: str,
    out_dir: Path,
) -> Evaluation:
    """Every task scored and reported (``table``: a class-index column per task, rows in the
    order of ``images``). Several tasks are named ``<split>/<task>/...`` and also get
    ``<split>/acc``, the mean accuracy over the tasks (what their training monitored)."""
    several = len(tasks) > 1
    metrics: dict[str, float] = {}
    confusions = {}
    for task, classes in progress(list(tasks.items()), "reports", unit="tasks"):
        prefix = metric_prefix(split, task, tasks)
        targets = table[task].to_numpy()
        scores = score_task(probs[task], targets, classes, prefix)
        title = f"{prefix.rstrip('/')}: {len(targets)} images"
        suffix = f"_{task}" if several else ""
        write_task_reports(scores, probs[task], targets, images, classes, out_dir, title, suffix)
        metrics.update(scores.metrics)
        confusions[task] = scores.confusion
    if several:
        metrics[f"{split}/acc"] = float(np.mean([metrics[f"{split}/{t}/acc"] for t in tasks]))
    metrics[f"{split}/n_images"] = float(len(table))  # MLflow metrics are floats
    return Evaluation(metrics, confusions, dict(tasks), out_dir)
