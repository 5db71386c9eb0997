"""Images kept for feedback to become data: with ``serve.keep_images`` each predicted image's
bytes are stored once, by sha256, in the serving run (written by the recorder's thread); a
client may instead send the image with its feedback, checked as ``/predict`` checks images
and against the image that was scored."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import mlflow
import pytest
from serving_helpers import NAME, ask, serving_run, tiny_store, use_store

from artclf.serving.deployment import Deployments
from artclf.serving.inputs import RequestError, feedback_inputs
from artclf.serving.reading import kept_images, read_feedback
from artclf.serving.recording import Recorder
from artclf.serving.scoring import answer_batch
from artclf.serving.settings import Settings
from fixtures import image_bytes

CHAMPION_URI = f"models:/{NAME}@champion"


@pytest.fixture(scope="module")
def deployments(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Deployments:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARTCLF_CACHE", str(shared_cache))
        use_store(tiny_store(tmp_path_factory, shared_cache), patch)
        return Deployments(CHAMPION_URI, None, poll_seconds=60)


@pytest.fixture
def recorder(tmp_path: Path, deployments: Deployments) -> tuple[str, Recorder]:
    """A serving run in a store of its own (the versions are loaded already)."""
    uri, run_id = serving_run(tmp_path)
    return uri, Recorder(run_id, flush_every=100, flush_seconds=60)


def test_predicted_images_are_kept_once_by_content_when_asked(
    deployments: Deployments, recorder: tuple[str, Recorder]
) -> None:
    uri, writer = recorder
    first, second = image_bytes(1, size=32), image_bytes(2, size=32, fmt="PNG")
    kept, plain = Settings(CHAMPION_URI, keep_images=True), Settings(CHAMPION_URI)
    answer_batch(deployments.current, [ask(first, second), ask(first)], kept, writer)
    answer_batch(deployments.current, [ask(image_bytes(3, size=32))], plain, writer)
    writer.close()
    found = kept_images(uri)
    digests = {hashlib.sha256(data).hexdigest(): data for data in (first, second)}
    assert set(found) == set(digests)  # twice sent, once kept; the third was not asked for
    for digest, (run_id, path) in found.items():
        assert (
            path == f"images/{digest[:2]}/{digest}{'.jpg' if digests[digest] == first else '.png'}"
        )
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=path, tracking_uri=uri
        )
        assert Path(local).read_bytes() == digests[digest]


def test_feedback_may_bring_the_image_which_must_be_the_scored_one(
    deployments: Deployments, recorder: tuple[str, Recorder]
) -> None:
    uri, writer = recorder
    scored, other = image_bytes(4, size=32), image_bytes(5, size=32)
    settings = Settings(CHAMPION_URI)
    (answer,) = answer_batch(deployments.current, [ask(scored)], settings, writer)
    label = answer["predictions"][0]["origin_style"][0]["label"]

    def give(image: bytes, request_id: str = answer["request_id"]) -> dict:
        body = {"request_id": request_id, "label": label, "image": base64.b64encode(image).decode()}
        note = {"op": "feedback", **feedback_inputs(json.loads(json.dumps(body)))}
        (given,) = answer_batch(deployments.current, [note], settings, writer)
        return given

    assert give(scored) == {"recorded": True, "request_id": answer["request_id"]}
    refused = give(other)["error"]
    assert refused["status"] == 400
    assert refused["detail"].startswith(f"image is not image 0 of request {answer['request_id']}")
    assert give(scored[:100])["error"]["status"] == 422  # truncated: does not decode
    assert give(other, request_id="f" * 32)["recorded"]  # unknown here: the export checks it
    writer.close()

    table = read_feedback(uri)
    assert list(table["image_sha256"]) == [hashlib.sha256(d).hexdigest() for d in (scored, other)]
    assert set(kept_images(uri)) == set(table["image_sha256"])


def test_a_feedback_image_is_base64_bytes() -> None:
    good = {"request_id": "0" * 32, "label": "Baroque"}
    assert feedback_inputs(good)["image"] is None
    assert feedback_inputs({**good, "image": base64.b64encode(b"abc").decode()})["image"] == b"abc"
    for image, says in (("not/a/path.jpg", "image is not base64"), ("", "image is empty")):
        with pytest.raises(RequestError, match=says) as refused:
            feedback_inputs({**good, "image": image})
        assert refused.value.status == 400
