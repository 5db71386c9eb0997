"""The serving record (``artclf.serving.reading.read_requests``'s DataFrame: one row per image
a version scored) as the arrays monitoring judges, one ``Window`` per model version. The one
module that knows the record's columns, so a change of them changes only this."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The route of a challenger scoring the champion's requests: recorded, answered to no one.
SHADOW = "shadow"


@dataclass(frozen=True)
class Window:
    """A version's recorded predictions of one head, oldest first."""

    model: str
    version: str
    task: str
    times: pd.Series
    predicted: np.ndarray
    confidence: np.ndarray
    #: as recorded, ``(n, dims)``; ``embedding_dim`` is the features' width before recording
    embeddings: np.ndarray
    embedding_dim: int
    #: the label feedback gave each image, else None
    truth: np.ndarray
    #: one per answered request (a shadow score answers no one; a request's images share one)
    latency_ms: np.ndarray
    routes: dict[str, int]

    @property
    def size(self) -> int:
        return len(self.confidence)

    @property
    def name(self) -> str:
        return f"{self.model} v{self.version}"


def moment(text: str | None, option: str) -> pd.Timestamp | None:
    """An ISO time given as ``option=`` in UTC (naive means UTC), or None."""
    if text is None:
        return None
    try:
        stamp = pd.Timestamp(str(text))
    except ValueError:
        raise ValueError(
            f"{option}={text!r}; an ISO time, e.g. {option}=2026-01-31T12:00"
        ) from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def windows(
    frame: pd.DataFrame,
    task: str | None = None,
    until: pd.Timestamp | None = None,
    last: int | None = None,
) -> list[Window]:
    """One window per model version in ``frame``: its records before ``until``, the ``last``
    of them; ``task`` picks the head (default: each version's first)."""
    if until is not None:
        frame = frame[frame["time"] < until]
    found = []
    for (model, version), rows in frame.groupby(["model", "version"]):
        rows = rows.sort_values("time", kind="stable")
        found.append(_window(str(model), str(version), rows.tail(last) if last else rows, task))
    return sorted(found, key=lambda w: (w.model, int(w.version) if w.version.isdigit() else 0))


def _window(model: str, version: str, rows: pd.DataFrame, task: str | None) -> Window:
    heads = list(rows["probabilities"].iloc[0])
    head = task or heads[0]
    if head not in heads:
        raise ValueError(f"task={task}; {model} v{version} has the heads {', '.join(heads)}")
    answered = rows[(rows["route"] != SHADOW) & (rows["index"] == 0)]
    return Window(
        model=model,
        version=version,
        task=head,
        times=rows["time"].reset_index(drop=True),
        predicted=np.array([p[head] for p in rows["prediction"]], dtype=object),
        confidence=np.array([max(p[head]) for p in rows["probabilities"]], dtype=np.float64),
        embeddings=np.array(rows["embedding"].tolist(), dtype=np.float64),
        embedding_dim=int(rows["embedding_dim"].iloc[0]),
        truth=rows["feedback"].to_numpy(dtype=object),
        latency_ms=answered["latency_ms"].to_numpy(dtype=np.float64),
        routes=rows["route"].value_counts().to_dict(),
    )
