"""The figures of a verdict: drift p-values over the window's segments, confidence of the
reference against the window, the class mix of both, and the confusion matrix of the images
with feedback. Each says its sample sizes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from artclf.evaluation.figures import confusion_matrix_figure
from artclf.monitoring import stats
from artclf.monitoring.checks import DRIFT, Verdict

LABELS = {"chi2_p": "class mix (chi²)", "ks_p": "confidence (KS)", "mmd_p": "embeddings (MMD)"}


def drift_over_time(verdict: Verdict, thresholds: dict[str, float]) -> Figure:
    """Each drift p-value per segment, on a log axis, with its alarm threshold."""
    segments = verdict.segments
    fig, ax = plt.subplots(figsize=(8, 3.6), layout="constrained")
    for i, name in enumerate(DRIFT):
        colour = f"C{i}"
        ax.plot(segments["end"], segments[name], "o-", color=colour, label=LABELS[name])
        if name in thresholds:
            ax.axhline(thresholds[name], color=colour, linestyle="--", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylim(top=1.05)
    ax.set_ylabel("p-value (dashed: alarm below)")
    sizes = ", ".join(str(n) for n in segments["n"])
    ax.set_title(f"{verdict.window.name}: drift per segment (images: {sizes})", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    fig.autofmt_xdate()
    return fig


def confidence_histograms(verdict: Verdict) -> Figure:
    """The max probability of the reference's images and of the window's, as densities."""
    reference = verdict.reference.confidence[verdict.window.task]
    window = verdict.window.confidence
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    bins = np.linspace(0, 1, 26)
    ax.hist(reference, bins, density=True, alpha=0.5, label=f"reference (n={len(reference)})")
    ax.hist(window, bins, density=True, alpha=0.5, label=f"window (n={len(window)})")
    floor = np.quantile(reference, stats.CONFIDENCE_QUANTILE)
    ax.axvline(floor, color="black", linestyle="--", linewidth=0.8, label="reference 5th pct")
    ax.set_xlabel("confidence (max probability)")
    ax.set_ylabel("density")
    ax.set_title(f"{verdict.window.name}: confidence", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def class_mix(verdict: Verdict) -> Figure:
    """The share of each predicted class in the reference and in the window."""
    task = verdict.window.task
    reference = verdict.reference.predicted_counts[task]
    window = np.bincount(
        [verdict.classes.index(p) for p in verdict.window.predicted], minlength=len(reference)
    )
    positions = np.arange(len(reference))
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(reference) + 2), 3.8), layout="constrained")
    ax.bar(
        positions - 0.2, reference / reference.sum(), 0.4, label=f"reference (n={reference.sum()})"
    )
    ax.bar(positions + 0.2, window / window.sum(), 0.4, label=f"window (n={window.sum()})")
    ax.set_xticks(positions, verdict.classes, rotation=90, fontsize=7)
    ax.set_ylabel("share of predictions")
    ax.set_title(f"{verdict.window.name}: predicted classes", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def figures(verdict: Verdict, thresholds: dict[str, float]) -> dict[str, tuple[Figure, str]]:
    """The verdict's figures that have data, by file stem, with a caption each."""
    found = {}
    if len(verdict.segments):
        found["drift"] = (
            drift_over_time(verdict, thresholds),
            "drift p-values per segment of the window",
        )
    if verdict.reference is not None:
        found["confidence"] = (confidence_histograms(verdict), "confidence: reference vs window")
        found["class_mix"] = (class_mix(verdict), "predicted classes: reference vs window")
    if verdict.confusion is not None:
        n = int(verdict.confusion.sum())
        title = f"{verdict.window.name}: feedback (n={n})"
        found["confusion"] = (
            confusion_matrix_figure(verdict.confusion, verdict.classes, title=title),
            f"confusion matrix of the {n} images with feedback",
        )
    return found
