"""The model's life after training, end to end on the embedded data: a registered champion
answers requests as the service does; in-distribution traffic raises no alarm, a shifted stream
(five styles photographed with red and blue swapped) does; the feedback people give on the
shifted images is exported and retrains the champion into a challenger, which wins a comparison
of a sample size fixed in advance on fresh shifted images, is promoted, and is rolled back."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from artclf.data.synthetic import FOLDERS, paint
from artclf.monitoring.run import monitor
from artclf.registry import run as registry
from artclf.serving.deployment import Deployments
from artclf.serving.feedback_export import export
from artclf.serving.reading import read_requests
from artclf.serving.recording import EXPERIMENT, Recorder, now
from artclf.serving.scoring import answer_batch
from artclf.serving.settings import Settings
from artclf.tracking.experiments import experiment_id
from artclf.tracking.registry import CHALLENGER, CHAMPION
from artclf.train import train
from conftest import compose_cfg, tiny_training
from fixtures import jpeg_bytes, make_feedback

pytestmark = pytest.mark.slow

NAME = "synthetic-origin_style"
CHAMPION_URI = f"models:/{NAME}@{CHAMPION}"
#: The shifted stream: five human styles, red and blue swapped.
SHIFTED = [folder for folder in sorted(FOLDERS) if FOLDERS[folder][0] == "human"][:5]


def label_of(folder: str) -> str:
    generator, style = FOLDERS[folder]
    return f"{'human' if generator == 'human' else 'AI'}_{style}"


def swapped(seed: int, folder: str, index: int) -> bytes:
    return jpeg_bytes(paint(seed, "train", folder, index, 32)[..., ::-1].copy())


def asks(images: list[bytes]) -> list[dict]:
    """One ``/predict`` request per image, as the HTTP side queues them."""
    return [
        {"op": "predict", "images": [data], "top_k": 3, "client": "c",
         "request_id": uuid.uuid4().hex, "received": time.time()}
        for data in images
    ]  # fmt: skip


def judged(home: Path, uri: str, since: str, until: str):
    cfg = compose_cfg(
        "monitor", home / "monitor", f"model_name={NAME}", f"since={since}", f"until={until}",
        f"logger.tracking_uri={uri}", "min_samples=20", "permutations=500",
    )  # fmt: skip
    (verdict,) = monitor(cfg, read_requests).verdicts
    return verdict, {f.name: f for f in verdict.findings}


def test_serve_watch_feedback_retrain_promote_rollback(
    tmp_path: Path, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tiny = (*tiny_training(shared_cache, uri), "trainer.max_epochs=3")
    train(compose_cfg("train", tmp_path / "champion", *tiny, "logger.register=true"))

    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    served = client.create_run(experiment_id(client, EXPERIMENT, uri)).info.run_id
    recorder = Recorder(served, flush_every=1000, flush_seconds=60)
    deployment = Deployments(CHAMPION_URI, None, poll_seconds=60).current
    settings = Settings(CHAMPION_URI, keep_images=True)

    start = now()
    unseen = [jpeg_bytes(paint(0, "test", f, i, 32)) for f in sorted(FOLDERS) for i in (2, 3, 4)]
    answer_batch(deployment, asks(unseen), settings, recorder)
    time.sleep(0.01)
    middle = now()
    shifted = [(folder, swapped(11, folder, i)) for folder in SHIFTED for i in range(12)]
    answers = answer_batch(deployment, asks([data for _, data in shifted]), settings, recorder)
    feedback = [
        {"op": "feedback", "request_id": answer["request_id"], "index": 0, "task": None,
         "label": label_of(folder)}
        for (folder, _), answer in zip(shifted, answers, strict=True)
    ]  # fmt: skip
    answer_batch(deployment, feedback, settings, recorder)
    time.sleep(0.01)
    end = now()
    recorder.close()

    verdict, found = judged(tmp_path, uri, start, middle)
    assert not verdict.alarms and found["mmd_p"].value > 0.05, found["mmd_p"]
    verdict, found = judged(tmp_path, uri, middle, end)
    assert found["mmd_p"].value < 0.01 and "mmd_p" in {f.name for f in verdict.alarms}
    assert found["accuracy"].n == len(shifted)

    exporting = ("feedback", tmp_path / "export", f"model_name={NAME}", f"out={tmp_path / 'fb'}")
    folder = export(compose_cfg(*exporting, f"logger.tracking_uri={uri}")).folder
    assert len(list(Path(folder).rglob("*.jpg"))) == len(shifted)

    retrain = (
        "experiment=retrain", f"retrain.model={CHAMPION_URI}", f"retrain.feedback=[{folder}]",
        "retrain.lr_scale=1.0",
    )  # fmt: skip
    train(compose_cfg("train", tmp_path / "retrain", *tiny, *retrain))
    assert client.get_registered_model(NAME).aliases == {CHAMPION: 1, CHALLENGER: 2}

    fresh = {
        label_of(f): [swapped(12, f, i) for i in range(12)] for f in SHIFTED
    }  # labelled later, never trained on
    labelled = make_feedback(tmp_path / "labelled", fresh, "origin_style")
    decide = (
        "action=promote", f"name={NAME}", "sample_size=60", "data=synthetic",
        f"data.root={labelled}", "eval_split=all", f"logger.tracking_uri={uri}",
    )  # fmt: skip
    registry(compose_cfg("registry", tmp_path / "promote", *decide))
    assert client.get_registered_model(NAME).aliases[CHAMPION] == 2
    rollback = ("action=rollback", f"name={NAME}", f"logger.tracking_uri={uri}")
    registry(compose_cfg("registry", tmp_path / "rollback", *rollback))
    assert client.get_registered_model(NAME).aliases[CHAMPION] == 1
