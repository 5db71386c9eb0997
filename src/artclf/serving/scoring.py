"""One batch of queued requests answered in the inference worker.

Every ``/predict`` request of the batch goes to the version its client is routed to; the
images of all requests for one version are scored in one pass (the point of batching), and
the challenger also scores the champion's requests when shadowing (recorded, not returned).
A request's mistake (bytes that are not an image) is its own answer, an ``error``, never an
exception: LitServe fails every request of a batch on one exception. ``/metadata`` and
``/feedback`` come through the same queue, so they see the versions being served.
"""

from __future__ import annotations

import hashlib
import io
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from artclf.data.images import ImageTooLarge, read_square_rgb
from artclf.inference.classifier import top_labels
from artclf.monitoring.embedding import recorded
from artclf.serving.deployment import Deployment
from artclf.serving.inputs import RequestError
from artclf.serving.recording import FEEDBACK, PREDICTION, Recorder, now
from artclf.serving.routing import CHALLENGER, CHAMPION, SHADOW, route
from artclf.serving.settings import Settings
from artclf.serving.slots import Slot


@dataclass(frozen=True)
class Job:
    """The requests (positions in the batch) one version scores, and as what."""

    slot: Slot
    route: str
    positions: list[int]


def answer_batch(
    deployment: Deployment, requests: list[dict], settings: Settings, recorder: Recorder | None
) -> list[dict[str, Any]]:
    """One answer per request, in order: a JSON-able dict, or ``{"error": {status, detail}}``."""
    answers: dict[int, dict[str, Any]] = {}
    handlers: dict[str, Callable[[dict], dict]] = {
        "metadata": lambda _: metadata(deployment, settings),
        "feedback": lambda request: feedback(deployment, request, recorder),
    }
    predictions = []
    for position, request in enumerate(requests):
        if request["op"] == "predict":
            request["top_k"] = request.get("top_k") or settings.top_k
            predictions.append(position)
            continue
        try:
            answers[position] = handlers[request["op"]](request)
        except RequestError as error:
            answers[position] = error_answer(error)
    for job in jobs(deployment, requests, predictions, settings):
        answers.update(score(job, requests, recorder, answers))
    return [answers[position] for position in range(len(requests))]


def jobs(
    deployment: Deployment, requests: list[dict], positions: list[int], settings: Settings
) -> list[Job]:
    """Champion and challenger jobs by each client's route, then the shadow job."""
    champion, challenger = deployment.champion, deployment.challenger
    if challenger is None:
        return [Job(champion, CHAMPION, positions)]
    routes = {p: route(requests[p]["client"], settings.split) for p in positions}
    mine = {name: [p for p in positions if routes[p] == name] for name in (CHAMPION, CHALLENGER)}
    found = [Job(champion, CHAMPION, mine[CHAMPION]), Job(challenger, CHALLENGER, mine[CHALLENGER])]
    if settings.shadow and challenger.version != champion.version:
        found.append(Job(challenger, SHADOW, mine[CHAMPION]))
    return [job for job in found if job.positions]


def score(
    job: Job, requests: list[dict], recorder: Recorder | None, answered: dict[int, dict]
) -> dict[int, dict[str, Any]]:
    """The job's answers by position (none for a shadow job): the images of all its requests
    in one pass of its version; a record per image."""
    size, resize = job.slot.reading
    answers, arrays, owners = {}, [], []
    for position in job.positions:
        if "error" in answered.get(position, {}):
            continue  # its images did not decode for the champion either
        try:
            decoded = [
                decode(data, size, resize, f"image {i}")
                for i, data in enumerate(requests[position]["images"])
            ]
        except RequestError as error:
            answers[position] = error_answer(error)
            continue
        arrays += decoded
        owners += [position] * len(decoded)
    if not arrays:
        return {} if job.route == SHADOW else answers
    probabilities, features = job.slot.score(np.stack(arrays))
    done = time.time()
    rows = np.array(owners)
    for position in dict.fromkeys(owners):
        request, mine = requests[position], np.flatnonzero(rows == position)
        probs = {task: values[mine] for task, values in probabilities.items()}
        answers[position] = {
            "request_id": request["request_id"],
            "model": job.slot.name,
            "version": job.slot.version,
            "alias": job.slot.alias,
            "route": job.route,
            "predictions": top_labels(job.slot.tasks, probs, request["top_k"]),
        }
        if recorder is not None:
            latency = (done - request["received"]) * 1000
            for record in records(job, request, probs, features[mine], latency):
                recorder.put(record)
    return {} if job.route == SHADOW else answers


def decode(data: bytes, size: int, resize: str, where: str) -> np.ndarray:
    """The image as ``artclf.predict`` reads it; a 4xx ``RequestError`` when it cannot be."""
    try:
        return read_square_rgb(io.BytesIO(data), size, resize)
    except ImageTooLarge as error:
        raise RequestError(413, f"{where} has {error}; send a smaller image") from None
    except Exception as error:  # any decoder failure: OSError, SyntaxError, ValueError, ...
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        if isinstance(error, UnidentifiedImageError):
            reason = "no image format recognised"
        raise RequestError(
            422,
            f"{where} does not decode as an image ({reason}); send a whole JPEG, PNG or WebP file",
        ) from None


def records(job: Job, request: dict, probs: dict, features, latency_ms: float) -> list[dict]:
    """One record per image: what it was (hash, size, never the bytes), what the version said
    of it, its embedding, and how long the answer took."""
    embeddings = recorded(features)
    found = []
    for i, data in enumerate(request["images"]):
        with warnings.catch_warnings():  # decoded already: the header is known to be sane
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            width, height = Image.open(io.BytesIO(data)).size
        found.append(
            {
                "kind": PREDICTION,
                "request_id": request["request_id"],
                "index": i,
                "time": now(),
                "route": job.route,
                "model": job.slot.name,
                "version": job.slot.version,
                "alias": job.slot.alias,
                "image_sha256": hashlib.sha256(data).hexdigest(),
                "image_bytes": len(data),
                "width": width,
                "height": height,
                "prediction": {
                    task: job.slot.tasks[task][int(p[i].argmax())] for task, p in probs.items()
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


def metadata(deployment: Deployment, settings: Settings) -> dict[str, Any]:
    """What ``GET /metadata`` says: each serving version's card, and how clients are split."""

    def described(slot: Slot | None) -> dict[str, Any] | None:
        return None if slot is None else {"uri": slot.uri, "alias": slot.alias, **slot.card}

    return {
        CHAMPION: described(deployment.champion),
        CHALLENGER: described(deployment.challenger),
        "split": settings.split,
        "shadow": settings.shadow,
        "poll_seconds": settings.poll_seconds,
    }


def feedback(deployment: Deployment, request: dict, recorder: Recorder | None) -> dict[str, Any]:
    """Record the true label of an answered image, checked against the served classes."""
    if recorder is None:
        raise RequestError(409, "recording is off (serve.record=false); feedback is not kept")
    classes: dict[str, set[str]] = {}
    for slot in deployment.slots():
        for task, names in slot.tasks.items():
            classes.setdefault(task, set()).update(names)
    task = request["task"] or (next(iter(classes)) if len(classes) == 1 else None)
    if task not in classes:
        heads = ", ".join(sorted(classes))
        raise RequestError(400, f"task={request['task']!r}; say which head: one of {heads}")
    if request["label"] not in classes[task]:
        raise RequestError(
            400, f"label {request['label']!r} is not a class of {task}; GET /metadata lists them"
        )
    fields = ("request_id", "index", "label")
    recorder.put({"kind": FEEDBACK, **{k: request[k] for k in fields}, "task": task, "time": now()})
    return {"recorded": True, "request_id": request["request_id"]}


def error_answer(error: RequestError) -> dict[str, Any]:
    return {"error": {"status": error.status, "detail": error.detail}}
