"""What a record holds, built in one place for every writer (the service and the web app), so
``python -m artclf.monitor`` reads their traffic alike: a prediction record per image, a
feedback record per label given."""

from __future__ import annotations

import hashlib
import io
import warnings
from typing import Any, Protocol

from PIL import Image
from torch import Tensor

from artclf.monitoring.embedding import recorded
from artclf.serving.recording import FEEDBACK, PREDICTION, now


class Answering(Protocol):
    """The version that answered, as a record names it (``slots.Slot``; the app's own)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def alias(self) -> str | None: ...

    @property
    def tasks(self) -> dict[str, list[str]]: ...


def prediction_records(
    request_id: str,
    images: list[bytes],
    route: str,
    slot: Answering,
    probs: dict[str, Tensor],
    features: Tensor,
    latency_ms: float,
) -> list[dict[str, Any]]:
    """One record per image (``probs`` and ``features`` row by row): what it was (hash, size,
    never the bytes), what ``slot``'s version said of it, its embedding, how long the answer
    took."""
    embeddings = recorded(features)
    found = []
    for i, data in enumerate(images):
        with warnings.catch_warnings():  # decoded already: the header is known to be sane
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            width, height = Image.open(io.BytesIO(data)).size
        found.append(
            {
                "kind": PREDICTION,
                "request_id": request_id,
                "index": i,
                "time": now(),
                "route": route,
                "model": slot.name,
                "version": slot.version,
                "alias": slot.alias,
                "image_sha256": hashlib.sha256(data).hexdigest(),
                "image_bytes": len(data),
                "width": width,
                "height": height,
                "prediction": {
                    task: slot.tasks[task][int(p[i].argmax())] for task, p in probs.items()
                },
                "probabilities": {
                    task: [round(float(v), 6) for v in p[i]] for task, p in probs.items()
                },
                "embedding": [round(float(v), 5) for v in embeddings[i]],
                "embedding_dim": int(features.shape[1]),
                "latency_ms": round(latency_ms, 3),
            }
        )
    return found


def feedback_record(request_id: str, index: int, task: str, label: str) -> dict[str, Any]:
    """The true ``label`` (a class of head ``task``) of image ``index`` of a recorded request."""
    return {
        "kind": FEEDBACK,
        "request_id": request_id,
        "index": index,
        "label": label,
        "task": task,
        "time": now(),
    }
