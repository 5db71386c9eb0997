"""What a request body may hold, read without a server: multipart files, base64 JSON, raw
bytes; every mistake (a path string among them) is a 4xx with one line, and text is never
opened as a file."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
import requests
from starlette.requests import Request

from artclf.serving.inputs import (
    MAX_BODY_BYTES,
    RequestError,
    feedback_inputs,
    json_object,
    predict_inputs,
)
from fixtures import image_bytes


def request(body: bytes, content_type: str, query: str = "") -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/predict",
        "query_string": query.encode(),
        "headers": [(b"content-type", content_type.encode())],
    }
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]

    async def receive() -> dict:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    return Request(scope, receive)


def parse(body: bytes, content_type: str, query: str = "") -> tuple[list[bytes], int | None]:
    return asyncio.run(predict_inputs(request(body, content_type, query)))


def multipart(*files: bytes, text: dict | None = None) -> tuple[bytes, str]:
    prepared = requests.Request(
        "POST",
        "http://x/predict",
        files=[("file", (f"{i}.jpg", data)) for i, data in enumerate(files)],
        data=text,
    ).prepare()
    return prepared.body, prepared.headers["Content-Type"]


def test_multipart_files_json_base64_and_raw_bytes_give_the_same_images() -> None:
    a, b = image_bytes(1), image_bytes(2)
    assert parse(*multipart(a, b)) == ([a, b], None)
    encoded = [base64.b64encode(x).decode() for x in (a, b)]
    assert parse(json.dumps({"images": encoded, "top_k": 3}).encode(), "application/json") == (
        [a, b],
        3,
    )
    one = json.dumps({"image": f"data:image/jpeg;base64,{encoded[0]}"}).encode()
    assert parse(one, "application/json; charset=utf-8", "top_k=2") == ([a], 2)
    assert parse(a, "image/jpeg") == ([a], None)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b'{"image": "/etc/passwd"}', "application/json", 400, "file paths are never read"),
        (b'{"images": ["../mlflow.db"]}', "application/json", 400, "is not base64"),
        (b'{"image": 7}', "application/json", 400, "send base64 text"),
        (b'{"image": ', "application/json", 400, "not valid JSON"),
        (b"[1, 2]", "application/json", 400, "send an object"),
        (b'{"picture": "eA=="}', "application/json", 400, 'needs "image"'),
        (b'{"images": "eA=="}', "application/json", 400, "must be a list"),
        (b'{"images": []}', "application/json", 400, "at least one image"),
        (b"x=1", "application/x-www-form-urlencoded", 415, "multipart/form-data"),
        (b"", "image/png", 400, "at least one image"),
    ],
)
def test_mistakes_are_one_line_4xx(body: bytes, content_type: str, status: int, says: str) -> None:
    with pytest.raises(RequestError) as refused:
        parse(body, content_type)
    assert refused.value.status == status
    assert says in refused.value.detail and "\n" not in refused.value.detail


def test_a_text_field_a_bad_top_k_and_too_many_bytes_are_refused() -> None:
    with pytest.raises(RequestError, match="is text; upload images as files"):
        parse(*multipart(image_bytes(1), text={"image": "/etc/passwd"}))
    with pytest.raises(RequestError, match="top_k='many'"):
        parse(image_bytes(1), "image/jpeg", "top_k=many")
    with pytest.raises(RequestError, match="over the 20 MB limit") as refused:
        parse(b"\0" * (MAX_BODY_BYTES + 1), "image/jpeg")
    assert refused.value.status == 413


def test_feedback_needs_a_request_id_and_a_label() -> None:
    good = {"request_id": "0" * 32, "label": "Baroque"}
    assert feedback_inputs(json_object(json.dumps(good).encode()))["index"] == 0
    for bad, says in (
        ({**good, "request_id": "../x"}, "request_id"),
        ({**good, "label": ""}, "needs a label"),
        ({**good, "index": -1}, "the position of an image"),
    ):
        with pytest.raises(RequestError, match=says):
            feedback_inputs(bad)
