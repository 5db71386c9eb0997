"""``python -m artclf.feedback export``: the feedback a service recorded, joined to the images
its requests had, written as ``<out>/<task>/<label>/<sha256>.<ext>`` + ``feedback.csv`` (the
latest label of an image wins; what was never kept, on no recorded request, or sent with
another image is counted and left out), logged as the dataset of an ``artclf-feedback`` run."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from serving_helpers import serving_run

from artclf.data.sources import feedback
from artclf.feedback import options, run
from artclf.serving.recording import FEEDBACK, PREDICTION, Recorder, now
from artclf.tracking.experiments import KIND_TAG, MODEL_TRAINING
from conftest import compose_cfg
from fixtures import image_bytes

IMAGES = {name: image_bytes(seed, size=32) for seed, name in enumerate("abcde")}
IMAGES["c"] = image_bytes(2, size=32, fmt="PNG")
SHA = {name: hashlib.sha256(data).hexdigest() for name, data in IMAGES.items()}


def request_id(n: int) -> str:
    return f"{n:032x}"


def scored(n: int, index: int, image: str, model: str = "m", route: str = "champion") -> dict:
    """A prediction record, as far as the export reads it."""
    version = "2" if route == "shadow" else "1"
    return {"kind": PREDICTION, "request_id": request_id(n), "index": index, "time": now(),
            "route": route, "model": model, "version": version,
            "image_sha256": SHA[image]}  # fmt: skip


def labelled(n: int, index: int, label: str, image: str | None = None) -> dict:
    sent = {"image_sha256": SHA[image]} if image else {}
    return {"kind": FEEDBACK, "request_id": request_id(n), "index": index, "task": "style",
            "label": label, "time": now(), **sent}  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A serving run's record: requests 1-4, feedback on them, the images kept of a, b, d
    (by the service) and c (sent by the client with its feedback); e never kept."""
    uri, run_id = serving_run(tmp_path)
    recorder = Recorder(run_id, flush_every=1000, flush_seconds=60)
    for record in (
        scored(1, 0, "a"), scored(1, 0, "a", route="shadow"), scored(2, 0, "b"),
        scored(2, 1, "c"), scored(3, 0, "d", model="other"), scored(4, 0, "e"),
    ):  # fmt: skip
        recorder.put(record)
    for name in "abdc":
        recorder.keep(SHA[name], IMAGES[name])
    for record in (
        labelled(1, 0, "Rococo"),
        labelled(2, 0, "Baroque"),
        labelled(2, 1, "Rococo", image="c"),
        labelled(3, 0, "Baroque"),
        labelled(4, 0, "Baroque"),  # e: never kept
        labelled(9, 0, "Baroque", image="a"),  # no such request
        labelled(2, 0, "Rococo", image="e"),  # not the image request 2 had
        labelled(1, 0, "Baroque"),  # the later label of a wins
    ):
        recorder.put(record)
    recorder.close()
    return uri


def test_export_writes_the_labelled_images_and_logs_them(store: str, tmp_path: Path) -> None:
    out = tmp_path / "exported"
    done = subprocess.run(
        [sys.executable, "-m", "artclf.feedback", "export", "model=m", f"out={out}",
         f"logger.tracking_uri={store}"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == (
        f"wrote 3 images (2 classes) to {out}; left out 1 never kept (serve.keep_images=false "
        "and no image sent with the feedback), 1 on a request the store has no record of, "
        "1 sent with an image other than the one scored, 1 replaced by a later label of the "
        "same image"
    )
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*"))
    assert files == sorted(
        [
            "feedback.csv",
            f"style/Baroque/{SHA['a']}.jpg",
            f"style/Baroque/{SHA['b']}.jpg",
            f"style/Rococo/{SHA['c']}.png",
        ]
    )
    assert (out / f"style/Rococo/{SHA['c']}.png").read_bytes() == IMAGES["c"]
    manifest = pd.read_csv(out / "feedback.csv", dtype=str).set_index("sha256")
    assert list(manifest.columns) == feedback.MANIFEST_COLUMNS[1:]
    assert (
        manifest.loc[SHA["c"], "source"] == "client"
        and manifest.loc[SHA["a"], "source"] == "service"
    )
    assert manifest.loc[SHA["b"], ["request_id", "index", "model", "version"]].tolist() == [
        request_id(2),
        "0",
        "m",
        "1",
    ]
    records = feedback.scan(out).records  # what training reads
    stems = records["path"].map(lambda p: Path(p).stem)
    assert sorted(zip(records["style"], stems, strict=True)) == sorted(
        [("Baroque", SHA["a"]), ("Baroque", SHA["b"]), ("Rococo", SHA["c"])]
    )

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("artclf-feedback")
    assert experiment.tags[KIND_TAG] == MODEL_TRAINING
    (logged,) = client.search_runs([experiment.experiment_id])
    (given,) = logged.inputs.dataset_inputs
    assert given.dataset.name == "feedback/m" and str(out) in given.dataset.source
    assert logged.data.metrics["feedback/images"] == 3
    assert logged.data.metrics["feedback/skipped_not_kept"] == 1


def test_every_model_and_a_new_export_replaces_the_old(store: str, tmp_path: Path) -> None:
    out = tmp_path / "exported"
    cfg = compose_cfg("feedback", tmp_path, f"logger.tracking_uri={store}", f"out={out}")
    cfg.logger.enabled = False
    run(cfg)
    (out / "style" / "Rococo" / "stale.jpg").write_bytes(IMAGES["e"])
    run(cfg)
    assert not (out / "style" / "Rococo" / "stale.jpg").exists()
    assert sorted(feedback.scan(out).content.values()) == sorted(SHA[n] for n in "abcd")


def test_export_mistakes_are_one_line(store: str, tmp_path: Path) -> None:
    assert options(["export", "model=m", "since=2026-01-01"]) == [
        "action=export", "model_name=m", "since=2026-01-01"
    ]  # fmt: skip
    taken = tmp_path / "taken"
    (taken / "x").mkdir(parents=True)
    for override, says in (
        (f"out={taken}", f"out={taken} holds files that are not a feedback export"),
        ("since=yesterday", "since='yesterday'; an ISO time"),
        ("action=import", "action=import; valid: export"),
    ):
        cfg = compose_cfg("feedback", tmp_path, f"logger.tracking_uri={store}", override)
        with pytest.raises(ValueError, match=says):
            run(cfg)


def test_a_store_without_feedback_gives_an_empty_folder(tmp_path: Path, capsys) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    run(compose_cfg("feedback", tmp_path, f"logger.tracking_uri={uri}"))
    out = tmp_path / "data" / "feedback"  # the default data=feedback reads
    assert capsys.readouterr().out == f"wrote 0 images (0 classes) to {out}\n"
    assert feedback.scan(out).records.empty
    (logged,) = MlflowClient(uri).search_runs(
        [MlflowClient(uri).get_experiment_by_name("artclf-feedback").experiment_id]
    )
    assert logged.data.metrics["feedback/images"] == 0
