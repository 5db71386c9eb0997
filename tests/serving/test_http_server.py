"""``python -m artclf.serve`` end to end, over HTTP on 127.0.0.1: predict's numbers for
uploads and base64, bad input as one-line 4xx answers with the service still up, the
challenger's sticky share, shadow scores recorded and not returned, a promotion and a
rollback under 8 concurrent clients with no request failed or lost, and the record of it
all (with feedback) read back."""

from __future__ import annotations

import base64
import io
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image
from serving_helpers import (
    NAME,
    assert_same,
    client_on,
    predicted,
    running,
    tiny_store,
    use_store,
)

from artclf.serving.reading import read_requests
from artclf.serving.routing import route
from artclf.tracking.registry import rollback_champion, set_champion
from benchmarks.serving import ServeProcess

pytestmark = pytest.mark.slow
SPLIT = 0.5


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    return tiny_store(tmp_path_factory, shared_cache)


@pytest.fixture(scope="module")
def server(store: dict, shared_cache: Path) -> Iterator[ServeProcess]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARTCLF_CACHE", str(shared_cache))
        with running(
            store,
            f"model=models:/{NAME}@champion",
            f"serve.challenger=models:/{NAME}@challenger",
            f"serve.split={SPLIT}",
            "serve.shadow=true",
            "serve.poll_seconds=0.3",
            "serve.flush_seconds=0.5",
        ) as started:
            yield started


def post(
    server: ServeProcess, client: str, headers: dict | None = None, **kwargs
) -> requests.Response:
    headers = {"X-Client-Id": client, **(headers or {})}
    return requests.post(f"{server.url}/predict", headers=headers, timeout=60, **kwargs)


def test_uploads_and_base64_get_predicts_numbers(store: dict, server: ServeProcess) -> None:
    images = store["images"][:2]
    client = client_on("champion", SPLIT)
    files = [("file", (p.name, p.read_bytes(), "image/jpeg")) for p in images]
    upload = post(server, client, files=files, params={"top_k": 3}).json()
    assert (upload["model"], upload["version"], upload["alias"]) == (NAME, "1", "champion")
    assert len(upload["request_id"]) == 32
    assert_same(upload["predictions"], [predicted(store, "1", p, 3) for p in images])
    encoded = [base64.b64encode(p.read_bytes()).decode() for p in images]
    as_json = post(server, client, json={"images": encoded, "top_k": 3}).json()
    assert as_json["predictions"] == upload["predictions"]
    one = post(server, client, json={"image": encoded[1]}).json()
    assert_same(one["predictions"], [predicted(store, "1", images[1])])
    raw = post(server, client, data=images[1].read_bytes(), headers={"Content-Type": "image/jpeg"})
    assert raw.json()["predictions"] == one["predictions"]


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_bad_input_is_a_one_line_4xx_and_the_service_stays_up(
    store: dict, server: ServeProcess
) -> None:
    jpeg = store["images"][0].read_bytes()
    existing = str(store["images"][0])
    cases = [
        ({"json": {"image": existing}}, 400, "file paths are never read"),
        ({"json": {"image": "/etc/passwd"}}, 400, "file paths are never read"),
        ({"json": {"image": base64.b64encode(b"not an image").decode()}}, 422, "does not decode"),
        ({"files": [("f", ("a.jpg", jpeg[: len(jpeg) // 2]))]}, 422, "does not decode"),
        ({"files": [("f", ("bomb.png", png(8000, 6000)))]}, 413, "40,000,000-pixel limit"),
        ({"data": b"{", "headers": {"Content-Type": "application/json"}}, 400, "not valid JSON"),
        ({"json": {"images": "x"}}, 400, "must be a list"),
        ({"data": b"\0" * (21 * 2**20), "headers": {"Content-Type": "image/jpeg"}}, 413, "20 MB"),
        ({"data": b"a=1", "headers": {"Content-Type": "text/plain"}}, 415, "content type"),
    ]
    for kwargs, status, says in cases:
        headers = {"X-Client-Id": "mistakes", **kwargs.pop("headers", {})}
        answer = requests.post(f"{server.url}/predict", headers=headers, timeout=60, **kwargs)
        assert answer.status_code == status, (says, answer.text)
        detail = answer.json()["detail"]
        assert says in detail and "\n" not in detail and "Traceback" not in detail, detail
    assert requests.get(f"{server.url}/health", timeout=10).text == "ok"
    assert post(server, "mistakes", data=jpeg, headers={"Content-Type": "image/jpeg"}).ok
    assert "Traceback" not in server.output()


def test_the_challengers_share_is_sticky(store: dict, server: ServeProcess) -> None:
    jpeg = store["images"][0].read_bytes()
    seen = {}
    for client in (f"sticky-{i}" for i in range(24)):
        versions = {
            post(server, client, data=jpeg, headers={"Content-Type": "image/jpeg"}).json()["route"]
            for _ in range(2)
        }
        assert versions == {route(client, SPLIT)}, client
        seen[client] = versions.pop()
    assert set(seen.values()) == {"champion", "challenger"}
    metadata = requests.get(f"{server.url}/metadata", timeout=10).json()
    assert metadata["split"] == SPLIT and metadata["challenger"]["version"] == "2"


def wait_for(condition, seconds: float = 60.0):
    """What ``condition()`` returns once it is neither None nor False, within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found is not None and found is not False:
            return found
        time.sleep(0.3)
    raise AssertionError(f"not within {seconds} s")


def test_shadow_scores_and_feedback_are_recorded_not_returned(
    store: dict, server: ServeProcess
) -> None:
    image = store["images"][2]
    answer = post(
        server, client_on("champion", SPLIT), files=[("file", ("a.jpg", image.read_bytes()))]
    )
    answer = answer.json()
    assert answer["route"] == "champion" and "shadow" not in answer
    request_id = answer["request_id"]
    label = answer["predictions"][0]["origin_style"][1]["label"]
    given = requests.post(
        f"{server.url}/feedback", json={"request_id": request_id, "label": label}, timeout=30
    )
    assert given.json() == {"recorded": True, "request_id": request_id}

    def recorded():
        table = read_requests(store["uri"], model=NAME)
        mine = table[table["request_id"] == request_id]
        return mine if len(mine) == 2 and mine["feedback"].notna().all() else None

    mine = wait_for(recorded)
    assert sorted(zip(mine["route"], mine["version"], strict=True)) == [
        ("champion", "1"),
        ("shadow", "2"),
    ]
    assert set(mine["feedback"]) == {label}
    assert set(mine["width"]) == {Image.open(image).width}
    assert "images" not in mine.columns


def test_promotion_and_rollback_under_8_clients_lose_nothing(
    store: dict, server: ServeProcess, monkeypatch
) -> None:
    use_store(store, monkeypatch)
    jpeg = store["images"][0].read_bytes()
    clients = [client_on("champion", SPLIT, prefix=f"load{i}") for i in range(8)]
    stop = threading.Event()
    answers: list[list[tuple[int, str | None, str | None]]] = [[] for _ in clients]
    failures: list[str] = []

    def load(i: int) -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    reply = session.post(
                        f"{server.url}/predict",
                        data=jpeg,
                        headers={"Content-Type": "image/jpeg", "X-Client-Id": clients[i]},
                        timeout=60,
                    )
                    body = reply.json()
                    answers[i].append(
                        (reply.status_code, body.get("version"), body.get("request_id"))
                    )
                except Exception as error:  # counted: a failed or lost request fails the test
                    failures.append(repr(error))

    def answered_after(marks: list[int], version: str):
        return lambda: all(
            any(v == version for _, v, _ in mine[mark:])
            for mine, mark in zip(answers, marks, strict=True)
        )

    threads = [threading.Thread(target=load, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: all(len(mine) >= 3 for mine in answers))
        set_champion(NAME, "2", "promoted by the serving test", expected="1")
        wait_for(answered_after([len(mine) for mine in answers], "2"))
        assert rollback_champion(NAME) == "1"
        wait_for(answered_after([len(mine) for mine in answers], "1"))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert not failures, failures[:3]
    every = [answer for mine in answers for answer in mine]
    assert {status for status, _, _ in every} == {200}
    for mine in answers:  # each client: v1, then v2 from one moment on, then v1 again
        assert [v for v, _ in itertools.groupby(v for _, v, _ in mine)] == ["1", "2", "1"]
    ids = {request_id for _, _, request_id in every}
    assert len(ids) == len(every)

    def all_recorded():
        table = read_requests(store["uri"], model=NAME)
        return ids <= set(table.loc[table["route"] == "champion", "request_id"])

    wait_for(all_recorded)
