"""Issue 23, item 3: the tracking server going away during training. A restart (30 s down)
costs nothing: training goes on, and the run's metrics equal an uninterrupted run's. Down past
``logger.outage_budget_s``, training stops in one line with a checkpoint whose resumed run
continues the same MLflow run, again with nothing lost. A server whose database is down is
one line before any run."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import lightning as L
import pytest
from fault_helpers import FAST, exits_with_one_line, free_port
from lightning.pytorch.callbacks import Callback
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.tracking import MlflowClient

from artclf.runtime.cli import run_or_exit
from artclf.tracking.outbox import Outbox, TrackingUnreachable
from artclf.tracking.server import stop_group
from artclf.train import train
from artclf.weights import checkpoints
from conftest import TINY_SYNTHETIC, compose_cfg

# -- the outbox on its own (fast) ------------------------------------------------------------


class FlakyClient:
    """``log_batch`` fails ``failures`` times as a server that is down does, then records."""

    tracking_uri = "http://flaky:5000"

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or MlflowException("API request to http://flaky:5000 failed")
        self.tries: list[float] = []
        self.delivered: list[tuple[list, list, list]] = []

    def log_batch(self, run_id: str, metrics=(), params=(), tags=()) -> None:
        self.tries.append(time.monotonic())
        if len(self.tries) <= self.failures:
            raise self.error
        self.delivered.append((list(metrics), list(params), list(tags)))


def test_outbox_keeps_order_and_loses_nothing_while_backing_off() -> None:
    client = FlakyClient(failures=6)
    box = Outbox(client, "run1", budget_s=30, first_wait_s=0.02, max_wait_s=0.1)
    try:
        started = time.monotonic()
        for step in range(5):
            box.put(metrics=[Metric("train/loss", float(step), 0, step)])
        box.put(params=[Param("lr", "0.1")], tags=[RunTag("phase", "fit")])
        box.put(metrics=[Metric("val/acc", 0.5, 0, 5)])
        assert time.monotonic() - started < 0.05  # queued, not sent: no wait on the server
        box.flush()
    finally:
        box.close()
    sent = [(m.key, m.step) for metrics, _, _ in client.delivered for m in metrics]
    assert sent == [*(("train/loss", s) for s in range(5)), ("val/acc", 5)]
    assert [p.key for _, params, _ in client.delivered for p in params] == ["lr"]
    assert [t.key for _, _, tags in client.delivered for t in tags] == ["phase"]
    assert len(client.delivered) == 3  # the five queued metric writes went as one request
    gaps = [b - a for a, b in pairwise(client.tries)][:6]
    assert gaps[0] >= 0.015 and gaps[2] > gaps[0]  # backing off ...
    assert max(gaps) < 0.1 + 0.1  # ... up to the cap
    assert box.pending() == []


def test_outbox_past_its_budget_raises_and_hands_over_what_it_kept() -> None:
    down = FlakyClient(failures=10**9)
    box = Outbox(down, "run1", budget_s=0.3, first_wait_s=0.02, max_wait_s=0.05)
    try:
        box.put(metrics=[Metric("val/acc", 0.5, 7, 1)], tags=[RunTag("a", "b")])
        box.check()  # within the budget: nothing to say yet
        time.sleep(0.4)
        with pytest.raises(TrackingUnreachable, match=r"tracking server http://flaky:5000 unre"):
            box.check()
        started = time.monotonic()
        with pytest.raises(TrackingUnreachable):
            box.flush()
        assert time.monotonic() - started < 1.0
        kept = box.pending()
    finally:
        box.close()
    back = FlakyClient(failures=0)
    resumed = Outbox(back, "run1", budget_s=5, first_wait_s=0.02)
    try:
        resumed.requeue(kept)
        resumed.flush()
    finally:
        resumed.close()
    ((metrics, _, _), (_, _, tags)) = back.delivered
    assert metrics == [Metric("val/acc", 0.5, 7, 1)] and tags == [RunTag("a", "b")]


def test_outbox_raises_a_refused_write_instead_of_retrying_it() -> None:
    refused = MlflowException("Changing param values is not allowed", INVALID_PARAMETER_VALUE)
    client = FlakyClient(failures=1, error=refused)
    box = Outbox(client, "run1", budget_s=30, first_wait_s=0.02)
    try:
        box.put(params=[Param("lr", "0.2")])
        box.put(metrics=[Metric("val/acc", 0.5, 0, 1)])
        with pytest.raises(MlflowException, match="Changing param values"):
            box.flush()
        box.flush()  # the writes after it still go
    finally:
        box.close()
    assert len(client.tries) == 2 and client.delivered[0][0][0].key == "val/acc"


# -- a server whose database is down (fast) --------------------------------------------------


class DatabaseDown(http.server.BaseHTTPRequestHandler):
    """MLflow's answers with its database stopped: healthy, but every query a 500."""

    def do_GET(self) -> None:
        if self.path == "/health":
            body, code = b"OK", 200
        else:
            error = {"error_code": "INTERNAL_ERROR", "message": "could not connect to server"}
            body, code = json.dumps(error).encode(), 500
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args) -> None:
        pass


def test_a_server_whose_database_is_down_is_one_line(make_cfg, capsys) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), DatabaseDown)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    uri = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        line = exits_with_one_line(make_cfg(*FAST, f"logger.tracking_uri={uri}"), capsys)
    finally:
        server.shutdown()
        server.server_close()
    assert uri in line and "database is unreachable" in line and "500" in line


# -- a real server, stopped during training (slow) -------------------------------------------

BASE = (
    *TINY_SYNTHETIC,
    "data.batch_size=16",  # BATCHES an epoch
    "trainer.accelerator=cpu",
    "trainer.deterministic=true",
    "trainer.max_epochs=3",
    "callbacks.early_stopping.enabled=false",
    "callbacks.progress_bar=false",
    "logger.log_model=false",
)
BATCHES = 10
BATCH_S = 0.5  # each batch this long: an epoch lasts 5 s, the outage spans epoch ends


class Server:
    """``mlflow server`` on a SQLite file, stopped and started again on the same port."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "mlflow", "server", "--workers", "1"]
        command += ["--backend-store-uri", f"sqlite:///{self.folder / 'server.db'}"]
        command += ["--artifacts-destination", str(self.folder / "artifacts")]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        with open(self.folder / "server.log", "ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.folder / "server.log").read_text()[-2000:]
            try:
                urllib.request.urlopen(f"{self.uri}/health", timeout=2).close()
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise AssertionError(f"mlflow server not up on {self.uri} after 120 s")

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)

    @property
    def up(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Outage(Callback):
    """Sleeps ``BATCH_S`` per batch; at batch ``batch`` of epoch ``epoch`` stops the server
    (in a thread: training does not wait) and, after ``down_s``, starts it again."""

    def __init__(self, server: Server, epoch: int, batch: int, down_s: float | None) -> None:
        self.server, self.at, self.down_s = server, (epoch, batch), down_s
        self.batch_ends: list[float] = []
        self.down_at = self.up_at = float("inf")
        self.thread: threading.Thread | None = None

    def on_train_batch_end(self, trainer: L.Trainer, pl_module, outputs, batch, i: int) -> None:
        time.sleep(BATCH_S)
        self.batch_ends.append(time.monotonic())
        if (trainer.current_epoch, i) == self.at and self.thread is None:
            self.thread = threading.Thread(target=self._outage, daemon=True)
            self.thread.start()

    def _outage(self) -> None:
        self.server.stop()
        self.down_at = time.monotonic()
        if self.down_s is not None:
            time.sleep(self.down_s)
            self.server.start()
            self.up_at = time.monotonic()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("server"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def reference(server: Server, tmp_path_factory, shared_cache: Path) -> str:
    """The run id of an uninterrupted training of the same config."""
    home = tmp_path_factory.mktemp("reference")
    train(
        compose_cfg(
            "train",
            home,
            *BASE,
            f"paths.cache_dir={shared_cache}",
            f"logger.tracking_uri={server.uri}",
        )
    )
    client = MlflowClient(server.uri)
    (run,) = client.search_runs(client.get_experiment_by_name("artclf-train").experiment_id)
    return run.info.run_id


def histories(uri: str, run_id: str) -> dict[str, list[tuple[int, float]]]:
    """Every metric of the run: its (step, value) points, in step order."""
    client = MlflowClient(uri)
    keys = client.get_run(run_id).data.metrics
    return {
        key: sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))
        for key in keys
    }


@pytest.mark.slow  # a reference training, then one with the server down for 30 s: 2 minutes
def test_a_30_s_server_restart_mid_epoch_loses_nothing(
    server: Server, reference: str, make_cfg, tmp_path: Path
) -> None:
    outage = Outage(server, epoch=1, batch=3, down_s=30)
    cfg = make_cfg(*BASE, f"logger.tracking_uri={server.uri}", f"paths.run_dir={tmp_path / 'run'}")
    try:
        train(cfg, extra_callbacks=[outage])
    finally:
        if outage.thread is not None:
            outage.thread.join(timeout=120)
        if not server.up:
            server.start()
    during = [t for t in outage.batch_ends if outage.down_at < t < outage.up_at]
    assert len(during) >= 10  # the rest of the training ran while the server was down ...
    gaps = [b - a for a, b in pairwise(during)]
    assert max(gaps) < BATCH_S + 2.5  # ... never waiting on it
    run_id = checkpoints.read(tmp_path / "run/checkpoints/last.ckpt")[checkpoints.RUN_ID_KEY]
    assert MlflowClient(server.uri).get_run(run_id).info.status == "FINISHED"
    assert histories(server.uri, run_id) == histories(server.uri, reference)


@pytest.mark.slow  # the server down past a 5 s budget, then the run resumed: a minute
def test_an_outage_past_the_budget_stops_in_one_line_and_resumes_the_same_run(
    server: Server, reference: str, make_cfg, tmp_path: Path, capsys
) -> None:
    tracked = (*BASE, f"logger.tracking_uri={server.uri}", f"paths.run_dir={tmp_path / 'run'}")
    outage = Outage(server, epoch=1, batch=3, down_s=None)
    cfg = make_cfg(*tracked, "logger.outage_budget_s=5")
    try:
        with pytest.raises(SystemExit) as exited:
            run_or_exit(train, cfg, extra_callbacks=[outage])
        stopped_at = time.monotonic()
    finally:
        if outage.thread is not None:
            outage.thread.join(timeout=60)
        if not server.up:
            server.start()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert "Traceback" not in err, err
    last = tmp_path / "run/checkpoints/last.ckpt"
    assert re.fullmatch(
        rf"error: tracking server {server.uri} unreachable for \d+ s; training stopped at "
        rf"epoch \d; resume with ckpt_path={last}",
        line,
    ), line
    assert 5 <= stopped_at - outage.down_at < 5 + 30  # the budget, the bounded ending
    saved = checkpoints.read(last)
    run_id, cut = saved[checkpoints.RUN_ID_KEY], (saved["epoch"] + 1) * BATCHES - 1

    assert train(make_cfg(*tracked, f"ckpt_path={last}")) > 0
    run = MlflowClient(server.uri).get_run(run_id)  # the same MLflow run, now finished
    assert run.info.status == "FINISHED" and run.data.tags["artclf.resumed_from"] == str(last)
    resumed, whole = histories(server.uri, run_id), histories(server.uri, reference)
    for points in (resumed, whole):  # as after SIGTERM: the training metrics of the epoch cut
        for key in points:  # in two aggregate only the batches after the resume
            if key.startswith("train/"):
                points[key] = [p for p in points[key] if p[0] != cut]
    assert resumed == whole  # the writes kept at the stop were delivered on resume
