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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from PIL import UnidentifiedImageError

from artclf.data.images import ImageTooLarge, read_square_rgb
from artclf.inference.classifier import top_labels
from artclf.serving.deployment import Deployment
from artclf.serving.inputs import RequestError
from artclf.serving.recording import Recorder
from artclf.serving.records import feedback_record, prediction_records
from artclf.serving.routing import CHALLENGER, CHAMPION, SHADOW, route
from artclf.serving.settings import Settings
from artclf.serving.slots import Slot

T = TypeVar("T")


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
        answers.update(score(job, requests, recorder, answers, settings.keep_images))
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
    job: Job,
    requests: list[dict],
    recorder: Recorder | None,
    answered: dict[int, dict],
    keep_images: bool = False,
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
            for record in prediction_records(
                request["request_id"],
                request["images"],
                job.route,
                job.slot,
                probs,
                features[mine],
                latency,
            ):
                recorder.put(record)
                if keep_images:
                    recorder.keep(record["image_sha256"], request["images"][record["index"]])
    return {} if job.route == SHADOW else answers


def decode(data: bytes, size: int, resize: str, where: str) -> np.ndarray:
    """The image as ``artclf.predict`` reads it; a 4xx ``RequestError`` when it cannot be."""
    return decoded(lambda source: read_square_rgb(source, size, resize), data, where)


def decoded(read: Callable[[io.BytesIO], T], data: bytes, where: str) -> T:
    """``read`` of the bytes (``/stylize`` reads them whole); when it fails, a 413
    ``RequestError`` for an image over the pixel limit, else a 422."""
    try:
        return read(io.BytesIO(data))
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
    record = feedback_record(request["request_id"], request["index"], task, request["label"])
    if request.get("image") is not None:
        record["image_sha256"] = sent_image(deployment, request, recorder)
    recorder.put(record)
    return {"recorded": True, "request_id": request["request_id"]}


def sent_image(deployment: Deployment, request: dict, recorder: Recorder) -> str:
    """The sha256 of the image a client sent with its feedback, kept in the run: checked as
    ``/predict`` checks images, and against the image the request had where this process
    still remembers it (``python -m artclf.feedback export`` checks the others)."""
    data = request["image"]
    decode(data, *deployment.champion.reading, "image")
    digest = hashlib.sha256(data).hexdigest()
    scored = recorder.digest(request["request_id"], request["index"])
    if scored is not None and scored != digest:
        raise RequestError(
            400,
            f"image is not image {request['index']} of request {request['request_id']} (sha256 "
            f"{digest[:12]}..., scored {scored[:12]}...); send the bytes /predict was sent",
        )
    recorder.keep(digest, data)
    return digest


def error_answer(error: RequestError) -> dict[str, Any]:
    return {"error": {"status": error.status, "detail": error.detail}}
