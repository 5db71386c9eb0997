"""A version's window judged against its reference: every figure with its sample size, an
alarm only where a configured threshold is crossed by a sample large enough to judge.

Whole window: class mix (chi2_p), confidence (ks_p), embeddings (mmd_p), out-of-distribution
share (ood_rate), online accuracy and confusion matrix from feedback, latency p50/p95. The
three drift p-values also per consecutive segment of the window, to see when a shift began."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from artclf.monitoring import stats
from artclf.monitoring.records import Window
from artclf.monitoring.reference import Reference

#: Figures that alarm below their threshold; the others alarm above it.
ALARM_BELOW = ("mmd_p", "chi2_p", "ks_p", "accuracy")
ALARM_ABOVE = ("ood_rate", "latency_p50_ms", "latency_p95_ms")
DRIFT = ("chi2_p", "ks_p", "mmd_p")


@dataclass(frozen=True)
class Settings:
    #: figure -> threshold; only the figures that may alarm
    thresholds: dict[str, float]
    min_samples: int = 30
    permutations: int = 500
    max_samples: int = 500
    segments: int = 8
    seed: int = 0

    @classmethod
    def from_config(cls, cfg: Any) -> Settings:
        """``thresholds``, ``min_samples``… of the monitor config; a bad one is a ValueError."""
        thresholds = {k: float(v) for k, v in dict(cfg.thresholds).items() if v is not None}
        unknown = sorted(set(thresholds) - set(ALARM_BELOW + ALARM_ABOVE))
        if unknown:
            valid = ", ".join(ALARM_BELOW + ALARM_ABOVE)
            raise ValueError(f"thresholds.{unknown[0]}: no such figure; valid: {valid}")
        settings = cls(
            thresholds,
            **{k: int(cfg[k]) for k in ("min_samples", "permutations", "max_samples", "segments")},
            seed=int(cfg.seed),
        )
        for option in ("min_samples", "permutations", "max_samples", "segments"):
            if getattr(settings, option) < 1:
                raise ValueError(f"{option}={getattr(settings, option)}; must be at least 1")
        return settings


@dataclass(frozen=True)
class Finding:
    name: str
    value: float
    n: int
    threshold: float | None
    #: why it is not judged (too few images, no reference, no feedback); empty when judged
    note: str = ""

    @property
    def alarmed(self) -> bool:
        if self.note or self.threshold is None or math.isnan(self.value):
            return False
        if self.name in ALARM_BELOW:
            return self.value < self.threshold
        return self.value > self.threshold


@dataclass
class Verdict:
    window: Window
    reference: Reference | None
    findings: list[Finding]
    #: per segment: its last time, size and the drift p-values
    segments: pd.DataFrame
    classes: list[str]
    #: of the images with feedback (``confusion_of``)
    confusion: np.ndarray | None

    @property
    def alarms(self) -> list[Finding]:
        return [f for f in self.findings if f.alarmed]


def judge(
    window: Window, reference: Reference | None, settings: Settings, note: str = ""
) -> Verdict:
    """The verdict on ``window``; without a reference (``note`` says why) only accuracy and
    latency are figured."""
    rng = np.random.default_rng(settings.seed)

    def finding(name: str, value: float, n: int, why: str = "") -> Finding:
        if not why and n < settings.min_samples:
            why = f"too few to judge: n={n} < min_samples={settings.min_samples}"
        return Finding(name, value, n, settings.thresholds.get(name), why)

    findings = []
    classes = sorted({*window.predicted, *(t for t in window.truth if t is not None)})
    segments = pd.DataFrame(columns=["end", "n", *DRIFT])
    if reference is None:
        findings += [finding(name, math.nan, window.size, note) for name in (*DRIFT, "ood_rate")]
    else:
        classes = comparable(window, reference)
        predicted = np.array([classes.index(p) for p in window.predicted])
        projected = reference.project(window.embeddings)
        values = drift(
            reference, window.task, predicted, window.confidence, projected, settings, rng
        )
        flags = stats.out_of_distribution(
            window.confidence, projected, reference.confidence[window.task], reference.projected
        )
        values["ood_rate"] = float(flags.mean())
        findings += [finding(name, value, window.size) for name, value in values.items()]
        segments = segment_drift(window, reference, predicted, projected, settings, rng)
    confusion = confusion_of(window, classes)
    if confusion is None:
        findings.append(finding("accuracy", math.nan, 0, "no feedback"))
    else:
        given = int(confusion.sum())
        findings.append(finding("accuracy", float(np.trace(confusion) / given), given))
    latency = window.latency_ms
    for q in (50, 95):
        value = float(np.percentile(latency, q)) if len(latency) else math.nan
        findings.append(finding(f"latency_p{q}_ms", value, len(latency)))
    return Verdict(window, reference, findings, segments, classes, confusion)


def confusion_of(window: Window, classes: list[str]) -> np.ndarray | None:
    """True (rows) against predicted (columns) classes of the images feedback labelled with
    a class of this head; None without any."""
    known = np.array([t is not None and t in classes for t in window.truth], dtype=bool)
    if not known.any():
        return None
    truth = [classes.index(t) for t in window.truth[known]]
    guess = [classes.index(p) for p in window.predicted[known]]
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(confusion, (truth, guess), 1)
    return confusion


def comparable(window: Window, reference: Reference) -> list[str]:
    """The head's classes, once the window's records are known to match the reference."""
    if window.task not in reference.tasks:
        raise ValueError(
            f"{window.name} has no head {window.task!r} in its reference "
            f"({', '.join(reference.tasks)}); pick one with task="
        )
    classes = reference.tasks[window.task]
    width = window.embeddings.shape[1]
    if (window.embedding_dim, width) != (reference.embedding_dim, len(reference.pca_mean)):
        raise ValueError(
            f"{window.name}: records hold {width}-wide embeddings of {window.embedding_dim} "
            f"features, its reference {len(reference.pca_mean)} of {reference.embedding_dim}; "
            "the serving and training code disagree on monitoring.embedding"
        )
    unknown = sorted(set(window.predicted) - set(classes))
    if unknown:
        raise ValueError(f"{window.name} predicted {unknown[0]!r}, not a class of its reference")
    return classes


def drift(
    reference: Reference,
    task: str,
    predicted: np.ndarray,
    confidence: np.ndarray,
    projected: np.ndarray,
    settings: Settings,
    rng: np.random.Generator,
) -> dict[str, float]:
    """The three drift p-values of these images."""
    counts = np.bincount(predicted, minlength=len(reference.tasks[task]))
    return {
        "chi2_p": stats.class_mix_p(
            reference.predicted_counts[task], counts, settings.permutations, rng
        ),
        "ks_p": stats.confidence_p(reference.confidence[task], confidence),
        "mmd_p": stats.mmd_p(
            subsample(reference.projected, settings.max_samples, rng),
            subsample(projected, settings.max_samples, rng),
            settings.permutations,
            rng,
        ),
    }


def subsample(points: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``limit`` of ``points``, drawn without replacement (the kernel is n²)."""
    return points if len(points) <= limit else points[rng.choice(len(points), limit, replace=False)]


def segment_drift(
    window: Window,
    reference: Reference,
    predicted: np.ndarray,
    projected: np.ndarray,
    settings: Settings,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The drift p-values of up to ``settings.segments`` consecutive parts of the window,
    none smaller than ``min_samples`` (the last part takes the remainder)."""
    size = max(settings.min_samples, math.ceil(window.size / settings.segments))
    starts = list(range(0, window.size - size + 1, size))
    rows = []
    for i, start in enumerate(starts):
        part = slice(start, window.size if i == len(starts) - 1 else start + size)
        values = drift(
            reference,
            window.task,
            predicted[part],
            window.confidence[part],
            projected[part],
            settings,
            rng,
        )
        end = window.times.iloc[part.stop - 1]
        rows.append({"end": end, "n": part.stop - start, **values})
    return pd.DataFrame(rows, columns=["end", "n", *DRIFT])
