"""End to end on a tiny trained, registered model: its training run stores the reference of
its test split (not of its training images); predictions recorded the way the serving worker
records them (its ``answer_batch`` and ``Recorder``) are judged against it: the test images
themselves pass, a stream of noise images makes ``python -m artclf.monitor`` exit 3."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from artclf.data.synthetic import FOLDERS, paint
from artclf.monitoring.reference import stored_reference
from artclf.monitoring.run import monitor
from artclf.serving.deployment import Deployments
from artclf.serving.reading import read_requests
from artclf.serving.recording import EXPERIMENT, Recorder, now
from artclf.serving.scoring import answer_batch
from artclf.serving.settings import Settings
from artclf.tracking.experiments import experiment_id
from conftest import compose_cfg, train_tiny

NAME = "tiny-monitored"
URI = f"models:/{NAME}@champion"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    home = tmp_path_factory.mktemp("monitoring")
    cfg, run = train_tiny(
        home, shared_cache, "trainer.max_epochs=1", f"logger.registered_model_name={NAME}"
    )
    root = Path(cfg.data.root)
    return {
        "home": home,
        "uri": f"sqlite:///{home}/mlflow.db",
        "run_id": run.info.run_id,
        "test": sorted((root / "test").rglob("*.jpg")),
        "train": sorted((root / "train").rglob("*.jpg")),
    }


@pytest.fixture(scope="module")
def streams(trained: dict, shared_cache: Path) -> dict:
    """New images of the test split's distribution recorded as the champion's answers (every
    5th given another label as feedback), then as many noise images; ``middle`` is a time
    between the two."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
        patch.setenv("ARTCLF_CACHE", str(shared_cache))
        mlflow.set_tracking_uri(trained["uri"])
        client = MlflowClient(trained["uri"])
        run_id = client.create_run(experiment_id(client, EXPERIMENT, trained["uri"])).info.run_id
        recorder = Recorder(run_id, flush_every=1000, flush_seconds=60)
        deployment = Deployments(URI, None, poll_seconds=60).current
        settings = Settings(URI)
        answers = answer_batch(deployment, asks(unseen_test_images()), settings, recorder)
        feedback = [
            {"op": "feedback", "request_id": a["request_id"], "index": 0, "task": None,
             "label": a["predictions"][0][task][1 if i % 5 == 0 else 0]["label"]}
            for i, a in enumerate(answers)
            for task in a["predictions"][0]
        ]  # fmt: skip
        answer_batch(deployment, feedback, settings, recorder)
        time.sleep(0.01)
        middle = now()
        rng = np.random.default_rng(0)
        noise = [png(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)) for _ in answers]
        answer_batch(deployment, asks(noise), settings, recorder)
        recorder.close()
    return {"middle": middle, "feedback": len(feedback), "unshifted": len(answers)}


def unseen_test_images() -> list[bytes]:
    """Images the embedded dataset's test split would hold with 5 per folder, not 2
    (``TINY_SYNTHETIC``): its distribution, none of them in the reference."""
    return [
        jpeg(paint(0, "test", folder, index, 32))
        for folder in sorted(FOLDERS)
        for index in (2, 3, 4)
    ]


def asks(images) -> list[dict]:
    """One ``/predict`` request per image, as the HTTP side queues them."""
    return [
        {"op": "predict", "images": [data], "top_k": 3, "client": "c",
         "request_id": uuid.uuid4().hex, "received": time.time()}
        for data in images
    ]  # fmt: skip


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(array: np.ndarray) -> bytes:
    """Encoded as the embedded dataset's files are."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def test_the_run_stores_the_reference_of_its_test_split(trained: dict, tmp_path: Path) -> None:
    client = MlflowClient(trained["uri"])
    reference = stored_reference(client, trained["run_id"], tmp_path)
    assert reference is not None and reference.split == "test"
    assert reference.size == len(trained["test"]) != len(trained["train"])
    summary = json.loads((tmp_path / "reference.json").read_text())
    assert summary["size"] == len(trained["test"])
    (task,) = reference.tasks
    assert len(reference.confidence[task]) == len(trained["test"])
    assert reference.pca_components.shape[0] == min(16, len(trained["test"]) // 2 - 1)
    assert len(reference.projected) == len(trained["test"]) - len(trained["test"]) // 2


def test_the_test_images_pass_and_feedback_gives_accuracy(trained: dict, streams: dict) -> None:
    cfg = compose_cfg(
        "monitor", trained["home"], f"model_name={NAME}", f"until={streams['middle']}",
        f"logger.tracking_uri={trained['uri']}", "min_samples=20", "permutations=200",
    )  # fmt: skip
    outcome = monitor(cfg, read_requests)
    (verdict,) = outcome.verdicts
    found = {f.name: f for f in verdict.findings}
    assert not verdict.alarms, [(f.name, f.value) for f in verdict.findings]
    assert verdict.window.size == streams["unshifted"] == found["mmd_p"].n
    assert found["accuracy"].n == streams["feedback"]
    expected = 1 - len(range(0, streams["feedback"], 5)) / streams["feedback"]
    assert found["accuracy"].value == pytest.approx(expected)
    assert outcome.page.is_file() and outcome.run_id is not None
    metrics = MlflowClient(trained["uri"]).get_run(outcome.run_id).data.metrics
    assert metrics[f"{NAME}/v1/mmd_p_n"] == streams["unshifted"]


def test_a_shifted_stream_makes_the_command_exit_3(trained: dict, streams: dict) -> None:
    env = {**os.environ, "ARTCLF_HOME": str(trained["home"]), "HF_HUB_OFFLINE": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    args = [
        f"model={NAME}", f"since={streams['middle']}", f"logger.tracking_uri={trained['uri']}",
        "min_samples=20", "permutations=200",
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "artclf.monitor", *args],
        cwd=trained["home"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"ALARM: {NAME} v1 " in done.stdout and "mmd_p" in done.stdout
