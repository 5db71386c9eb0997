"""The record of requests: written by a background thread in batches into the serving run,
read back by ``read_requests`` (by model, version, time, the last N) with the feedback given
on each image, and never holding image bytes."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from mlflow.tracking import MlflowClient
from serving_helpers import serving_run

from artclf.serving.reading import read_feedback, read_requests
from artclf.serving.recording import FEEDBACK, PREDICTION, Recorder, now


def prediction(request_id: str, version: str, route: str = "champion", index: int = 0) -> dict:
    return {
        "kind": PREDICTION,
        "request_id": request_id,
        "index": index,
        "time": now(),
        "route": route,
        "model": "tiny",
        "version": version,
        "alias": "champion",
        "image_sha256": "0" * 64,
        "image_bytes": 1234,
        "width": 32,
        "height": 24,
        "prediction": {"style": "Baroque"},
        "probabilities": {"style": [0.75, 0.25]},
        "embedding": [0.5, -0.5],
        "embedding_dim": 2,
        "latency_ms": 12.5,
    }


def test_records_are_written_in_batches_and_read_back(tmp_path: Path) -> None:
    uri, run_id = serving_run(tmp_path)
    recorder = Recorder(run_id, flush_every=3, flush_seconds=60)
    for i in range(4):
        recorder.put(prediction(f"{i:032x}", version="1" if i < 3 else "2"))
    deadline = time.monotonic() + 10  # the first three make a batch of their own
    while len(read_requests(uri)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(read_requests(uri)) == 3
    middle = now()
    recorder.put(prediction(f"{4:032x}", version="2", route="shadow"))
    recorder.put({"kind": FEEDBACK, "request_id": f"{1:032x}", "index": 0, "task": "style",
                  "label": "Rococo", "time": now()})  # fmt: skip
    recorder.close()  # writes the rest

    table = read_requests(uri)
    assert list(table["request_id"]) == [f"{i:032x}" for i in range(5)]
    assert list(table["feedback"]) == [None, "Rococo", None, None, None]
    assert table.loc[0, "probabilities"] == {"style": [0.75, 0.25]}
    assert set(table["run_id"]) == {run_id}
    assert len(read_requests(uri, model="tiny", version=2)) == 2
    assert read_requests(uri, model="other").empty
    assert list(read_requests(uri, since=middle)["route"]) == ["shadow"]
    assert list(read_requests(uri, last=2)["request_id"]) == [f"{3:032x}", f"{4:032x}"]
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    assert read_requests(uri, since=later).empty
    assert list(read_feedback(uri)["label"]) == ["Rococo"]

    client = MlflowClient(uri)
    files = [f.path for f in client.list_artifacts(run_id, "requests")]
    assert len(files) == 2 and all(f.endswith(".jsonl") for f in files)
    metrics = client.get_run(run_id).data.metrics
    assert metrics["serving/answered"] == 4  # the shadow score answered no one
    assert metrics["serving/latency_ms_p50"] == 12.5
