"""Synthetic references and windows for the monitoring tests: seeded Gaussian embeddings
(64 wide, unequal spreads, like pooled features) and class probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from artclf.monitoring.records import Window
from artclf.monitoring.reference import Reference, build_reference

CLASSES = ["Baroque", "Cubism", "Impressionism", "Rococo"]
TASK = "style"
DIMS = 64
SCALES = np.linspace(2.0, 0.5, DIMS)
MIX = np.array([0.4, 0.3, 0.2, 0.1])


def embeddings(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    return rng.normal(size=(n, DIMS)) * SCALES + shift


def probabilities(rng: np.random.Generator, n: int, mix: np.ndarray = MIX) -> np.ndarray:
    """Rows whose argmax follows ``mix``, confidence between about 0.4 and 0.95."""
    top = rng.choice(len(CLASSES), size=n, p=mix)
    rows = rng.dirichlet(np.ones(len(CLASSES)), size=n) * 0.3
    rows[np.arange(n), top] += rng.uniform(0.3, 0.9, size=n)
    return rows / rows.sum(1, keepdims=True)


def reference(rng: np.random.Generator, n: int = 120) -> Reference:
    probs = probabilities(rng, n)
    targets = probs.argmax(1)[:, None]
    return build_reference(
        "test", {TASK: CLASSES}, targets, {TASK: probs}, embeddings(rng, n), DIMS
    )


def window(
    rng: np.random.Generator,
    n: int,
    shift: float = 0.0,
    mix: np.ndarray = MIX,
    feedback: int = 0,
) -> Window:
    """``n`` predictions of ``tiny`` v1, one a second; the first ``feedback`` with their
    predicted class as the label given (the last of those marked wrong)."""
    probs = probabilities(rng, n, mix)
    predicted = np.array([CLASSES[i] for i in probs.argmax(1)], dtype=object)
    truth = np.full(n, None, dtype=object)
    truth[:feedback] = predicted[:feedback]
    if feedback:
        truth[feedback - 1] = next(c for c in CLASSES if c != predicted[feedback - 1])
    start = pd.Timestamp("2026-01-31T12:00", tz="UTC")
    return Window(
        model="tiny",
        version="1",
        task=TASK,
        times=pd.Series([start + pd.Timedelta(seconds=i) for i in range(n)]),
        predicted=predicted,
        confidence=probs.max(1),
        embeddings=embeddings(rng, n, shift),
        embedding_dim=DIMS,
        truth=truth,
        latency_ms=rng.uniform(5, 50, size=n),
        routes={"champion": n},
    )
