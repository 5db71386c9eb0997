"""What the serving tests share: one tiny registered model with a champion and a challenger,
predict's answers to compare with, a store with a serving run, requests as the HTTP side
queues them, and a server started as a user starts it (a process of its
own on a free port of 127.0.0.1: ``benchmarks.serving.ServeProcess``), always stopped."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from artclf.serving.reading import read_feedback, read_requests
from artclf.serving.recording import EXPERIMENT
from artclf.serving.routing import route
from artclf.tracking.registry import CHAMPION
from benchmarks.serving import ServeProcess
from conftest import PROBABILITY_ATOL, compose_cfg, tiny_training

NAME = "tiny"
_BUILT: dict[str, dict] = {}


def tiny_store(factory: pytest.TempPathFactory, cache: Path) -> dict:
    """Built once per process: ``tiny`` v1 (@champion, one epoch) and v2 (@challenger, lr=1e-9,
    untested: other numbers), each its own training run on the tiny embedded dataset."""
    if "store" not in _BUILT:
        from artclf.train import train

        home = factory.mktemp("serving")
        uri = f"sqlite:///{home}/mlflow.db"
        common = (*tiny_training(cache, uri), f"logger.registered_model_name={NAME}")
        first = compose_cfg("train", home / "v1", *common, "trainer.max_epochs=1")
        train(first)
        untested = ("trainer.max_epochs=1", "optim.lr=1e-9", "test=false")  # faster: no test
        train(compose_cfg("train", home / "v2", *common, *untested))
        _BUILT["store"] = {
            "home": home,
            "uri": uri,
            "client": MlflowClient(uri),
            "images": sorted((Path(first.data.root) / "test").rglob("*.jpg"))[:6],
        }
    return _BUILT["store"]


def serving_run(tmp_path: Path) -> tuple[str, str]:
    """A store whose ``read_requests`` is empty, then the run of a serving process in it."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    assert read_requests(uri).empty and "latency_ms" in read_requests(uri).columns
    assert read_feedback(uri).empty
    location = (tmp_path / "mlartifacts").as_uri()
    experiment = client.create_experiment(EXPERIMENT, artifact_location=location)
    return uri, client.create_run(experiment).info.run_id


def ask(*images: Path | bytes, client: str = "client", top_k: int | None = None) -> dict:
    """A ``/predict`` request as the HTTP side queues it."""
    return {
        "op": "predict",
        "images": [i if isinstance(i, bytes) else i.read_bytes() for i in images],
        "top_k": top_k,
        "client": client,
        "request_id": uuid.uuid4().hex,
        "received": time.time(),
    }


def use_store(store: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point this process's tracking calls (and ``models:/`` URIs) at the store."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store["uri"])
    mlflow.set_tracking_uri(store["uri"])


def champion(store: dict) -> str:
    return str(store["client"].get_registered_model(NAME).aliases[CHAMPION])


def predicted(store: dict, version: str, image: Path, top_k: int = 5) -> dict:
    """What ``python -m artclf.predict`` says of ``image`` with version ``version``."""
    from artclf.predict import predict

    cfg = compose_cfg(
        "predict", store["home"], f"ckpt_path=models:/{NAME}/{version}", f"input={image}"
    )
    cfg.top_k = top_k
    (result,) = predict(cfg)
    return result["predictions"]


def assert_same(served: list[dict], expected: list[dict]) -> None:
    """Same labels in the same order, probabilities within what another batch composition
    moves them (the 6th decimal on the CPU: predict of a folder differs from predict of a
    file as much)."""
    assert len(served) == len(expected)
    for got, want in zip(served, expected, strict=True):
        assert got.keys() == want.keys()
        for task in got:
            assert [r["label"] for r in got[task]] == [r["label"] for r in want[task]]
            for a, b in zip(got[task], want[task], strict=True):
                assert a["probability"] == pytest.approx(b["probability"], abs=PROBABILITY_ATOL)


def client_on(side: str, split: float, prefix: str = "client") -> str:
    """A client id the split routes to ``side`` (champion or challenger)."""
    return next(c for c in (f"{prefix}-{i}" for i in range(10_000)) if route(c, split) == side)


@contextlib.contextmanager
def running(store: dict, *overrides: str) -> Iterator[ServeProcess]:
    """``python -m artclf.serve`` on the store, as a user starts it; always stopped."""
    with ServeProcess(store["home"], store["uri"], *overrides) as server:
        yield server
