"""What a request body holds, read in LitServe's HTTP process before anything is queued.

``POST /predict`` takes a multipart upload (one or several files), JSON
``{"images": [<base64>, ...]}`` or ``{"image": <base64>}`` (with an optional ``"top_k"``), or
the raw bytes of one image. Only bytes the client sent are read: text is base64, never a file
path. ``POST /feedback`` takes JSON ``{"request_id", "label"}`` (``"index"``, ``"task"`` for a
request of several images or heads, ``"image"``: the image's base64 bytes again, for a service
that does not keep images). Every mistake is a ``RequestError``: an HTTP status and
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
#: The longest side ``/stylize`` draws: its memory and time grow with the square.
MAX_SIZE = 1024
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
    kind = _content_type(request)
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


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


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
    files, texts = await _form_parts(request, body)
    if texts:
        field = next(iter(texts))
        raise RequestError(
            400, f"form field {field!r} is text; upload images as files (curl -F with @a.jpg)"
        )
    return [data for _, data in files]


async def _form_parts(request: Request, body: bytes) -> tuple[list[tuple[str, bytes]], dict]:
    """The form's uploaded files as (field, bytes), in order, and its text fields."""

    async def stream():
        yield body

    try:
        form = await MultiPartParser(request.headers, stream(), max_files=MAX_IMAGES + 1).parse()
    except MultiPartException as error:
        raise RequestError(400, f"multipart body cannot be read ({error.message})") from None
    files, texts = [], {}
    for field, value in form.multi_items():
        if isinstance(value, UploadFile):
            files.append((field, await value.read()))
        else:
            texts[field] = value
    return files, texts


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
    and optionally ``index`` (which image), ``task`` (which head) and ``image`` (its bytes,
    base64 as ``/predict`` takes them; None when not sent)."""
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
    image = document.get("image")
    if image is not None:
        image = _from_base64(image, "image")
        if not image:
            raise RequestError(400, "image is empty; send the bytes /predict was sent, base64")
    return {"request_id": request_id, "label": label, "index": index, "task": task, "image": image}


async def stylize_inputs(request: Request) -> tuple[bytes, bytes | None, dict[str, Any]]:
    """The content image of a ``/stylize`` request, its style image (None when not sent) and
    its options as sent (query parameters, then form or JSON fields; the worker checks them
    against the model's). A multipart upload holds the content file and at most one style
    file (the second, or the one named ``style``); JSON ``{"content": <base64>, "style":
    <base64>, ...}``; a raw ``image/*`` body is the content alone."""
    body = await read_body(request)
    kind = _content_type(request)
    options: dict[str, Any] = dict(request.query_params)
    if kind == "multipart/form-data":
        files, texts = await _form_parts(request, body)
        content, style = _content_and_style(files)
        options.update(texts)
    elif kind == "application/json":
        document = json_object(body)
        if "content" not in document:
            raise RequestError(
                400, 'JSON body needs "content": <base64> (and "style": <base64> for AdaIN)'
            )
        content = _from_base64(document.pop("content"), "content")
        style = document.pop("style", None)
        style = None if style is None else _from_base64(style, "style")
        options.update(document)
    elif kind.startswith("image/") or kind == "application/octet-stream":
        content, style = body, None
    else:
        raise RequestError(
            415,
            f"content type {kind or 'none'!r}; send multipart/form-data files (content, style), "
            'application/json {"content": <base64>, "style": <base64>} or the raw content as '
            "image/*",
        )
    if not content or style == b"":
        raise RequestError(400, "an image of the request has no bytes; send whole image files")
    return content, style, options


def _content_and_style(files: list[tuple[str, bytes]]) -> tuple[bytes, bytes | None]:
    """The uploaded content and style: in order, or by name (a file named ``style``)."""
    if len(files) > 2:
        raise RequestError(
            400, f"{len(files)} files; upload the content image and at most one style image"
        )
    if not files:
        return b"", None
    (_, content), *rest = sorted(files, key=lambda file: file[0] == "style")
    return content, rest[0][1] if rest else None
