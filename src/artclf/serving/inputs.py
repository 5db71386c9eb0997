"""What a request body holds, read in LitServe's HTTP process before anything is queued.

``POST /predict`` takes a multipart upload (one or several files), JSON
``{"images": [<base64>, ...]}`` or ``{"image": <base64>}`` (with an optional ``"top_k"``), or
the raw bytes of one image. Only bytes the client sent are read: text is base64, never a file
path. ``POST /feedback`` takes JSON ``{"request_id", "label"}`` (``"index"``, ``"task"`` for a
request of several images or heads). Every mistake is a ``RequestError``: an HTTP status and
one line naming the fix.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

#: The largest body read, as the web app's upload limit.
MAX_BODY_BYTES = 20 * 1024 * 1024
#: The most images one request may hold (a batch is the server's business).
MAX_IMAGES = 64
MAX_TOP_K = 1000
_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
_DATA_URL = re.compile(r"^data:[\w/+.-]*;base64,")


class RequestError(Exception):
    """A request the service refuses: its HTTP ``status`` and a one-line ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


async def read_body(request: Request) -> bytes:
    """The body, refused (413) past ``MAX_BODY_BYTES`` before it is all read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large(int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large(size)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int) -> RequestError:
    return RequestError(
        413,
        f"body of {size:,} bytes or more is over the {MAX_BODY_BYTES // 2**20} MB limit; "
        "send fewer or smaller images per request",
    )


async def predict_inputs(request: Request) -> tuple[list[bytes], int | None]:
    """The images of a ``/predict`` request, and its ``top_k`` (JSON field or query
    parameter; None: the server's default)."""
    body = await read_body(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    top_k = request.query_params.get("top_k")
    if kind == "multipart/form-data":
        images = await _from_multipart(request, body)
    elif kind == "application/json":
        document = json_object(body)
        images = _from_json(document)
        top_k = document.get("top_k", top_k)
    elif kind.startswith("image/") or kind == "application/octet-stream":
        images = [body]
    else:
        raise RequestError(
            415,
            f"content type {kind or 'none'!r}; send multipart/form-data files, "
            'application/json {"images": [<base64>, ...]} or the raw bytes as image/*',
        )
    if not images or not all(images):
        raise RequestError(400, "no image bytes in the request; send at least one image")
    if len(images) > MAX_IMAGES:
        raise RequestError(413, f"{len(images)} images; send at most {MAX_IMAGES} per request")
    return images, None if top_k is None else _top_k(top_k)


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object (400 for anything else)."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise RequestError(400, f"body is not valid JSON ({error}); send a JSON object") from None
    if not isinstance(document, dict):
        raise RequestError(400, f"JSON body is a {type(document).__name__}; send an object")
    return document


def _from_json(document: dict[str, Any]) -> list[bytes]:
    if "images" in document:
        items = document["images"]
        if not isinstance(items, list):
            raise RequestError(400, '"images" must be a list of base64 strings')
    elif "image" in document:
        items = [document["image"]]
    else:
        raise RequestError(400, 'JSON body needs "image": <base64> or "images": [<base64>, ...]')
    return [_from_base64(item, f"images[{i}]") for i, item in enumerate(items)]


def _from_base64(item: Any, where: str) -> bytes:
    """Base64 text (a ``data:`` URL too) as bytes. Never a path: text names no file here."""
    if not isinstance(item, str):
        raise RequestError(400, f"{where} is a {type(item).__name__}; send base64 text")
    try:
        return base64.b64decode(_DATA_URL.sub("", item, count=1), validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(
            400,
            f"{where} is not base64 ({item[:40]!r}); send the image's bytes base64-encoded "
            "(file paths are never read)",
        ) from None


async def _from_multipart(request: Request, body: bytes) -> list[bytes]:
    """Every uploaded file of the form, in order; a text field is a mistake."""

    async def stream():
        yield body

    try:
        form = await MultiPartParser(request.headers, stream(), max_files=MAX_IMAGES + 1).parse()
    except MultiPartException as error:
        raise RequestError(400, f"multipart body cannot be read ({error.message})") from None
    images = []
    for field, value in form.multi_items():
        if not isinstance(value, UploadFile):
            raise RequestError(
                400, f"form field {field!r} is text; upload images as files (curl -F with @a.jpg)"
            )
        images.append(await value.read())
    return images


def _top_k(value: Any) -> int:
    try:
        top_k = int(value)
    except (TypeError, ValueError):
        top_k = 0
    if not 1 <= top_k <= MAX_TOP_K:
        raise RequestError(400, f"top_k={value!r}; a whole number from 1 to {MAX_TOP_K}")
    return top_k


def feedback_inputs(document: dict[str, Any]) -> dict[str, Any]:
    """A ``/feedback`` body checked: ``request_id`` (as ``/predict`` answered it), ``label``,
    and optionally ``index`` (which image) and ``task`` (which head)."""
    request_id, label = document.get("request_id"), document.get("label")
    if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
        raise RequestError(400, "feedback needs the request_id a /predict answer gave")
    if not isinstance(label, str) or not label or len(label) > 200:
        raise RequestError(400, "feedback needs a label: the true class name")
    index, task = document.get("index", 0), document.get("task")
    if not isinstance(index, int) or not 0 <= index < MAX_IMAGES:
        raise RequestError(400, f"index {index!r}: the position of an image in the request, from 0")
    if task is not None and not isinstance(task, str):
        raise RequestError(400, f"task={task!r}; the name of a head, e.g. style")
    return {"request_id": request_id, "label": label, "index": index, "task": task}
