"""Serving rows: ``python -m artclf.serve`` over HTTP on 127.0.0.1 against in-process
``rank`` (decode + one forward per image, what ``artclf.predict`` does per file) on the same
images and model: throughput, and p50/p95 latency, at 1 and 8 concurrent clients; then what
recording and shadow scoring cost, as ratios against the same server without them. The clients
run on the same machine as the server, as a sidecar's would.

``ServeProcess`` starts a server the way a user does (the serving tests use it too)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import requests

from benchmarks.common import TASK, Row, small_model_cfg

NAME = "bench"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServeProcess:
    """``python -m artclf.serve overrides`` at ``home`` on the store ``tracking_uri``, in a
    session of its own on a free port of 127.0.0.1; ``url`` once ``/health`` answers ok.
    ``stop`` sends SIGTERM, as a service manager does, and kills what is left of the session
    after 40 s. Its output goes to ``log``."""

    def __init__(self, home: Path, tracking_uri: str, *overrides: str, wait: float = 180) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / f"serve-{self.port}.log"
        env = {**os.environ, "ARTCLF_HOME": str(home), "HF_HUB_OFFLINE": "1"}
        env["MLFLOW_DISABLE_TELEMETRY"] = "true"
        env.pop("MLFLOW_TRACKING_URI", None)
        command = [sys.executable, "-m", "artclf.serve", f"port={self.port}"]
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [*command, f"logger.tracking_uri={tracking_uri}", *overrides],
                cwd=home,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_healthy(wait)
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *_) -> None:
        self.stop()

    def _wait_healthy(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.output()[-3000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/health", timeout=2).text == "ok":
                    return
            time.sleep(0.3)
        raise RuntimeError(f"the server was not healthy in {seconds} s: {self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> int | None:
        """The main process's exit code (None when it had to be killed)."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            code = None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: nothing else
        self.process.wait(timeout=10)
        return code


def register(home: Path, uri: str, arch: str, image_size: int) -> None:
    """An untrained ``arch`` logged as a classifier's MLflow Model and registered twice
    (v1 @champion, v2 @challenger: a second network for the shadow)."""
    import mlflow
    import torch
    from mlflow.tracking import MlflowClient
    from PIL import Image

    from artclf.models.module import ClassificationModule
    from artclf.publishing.classifier import log_classifier
    from artclf.tracking.registry import CHALLENGER, register_run

    module = ClassificationModule(
        model=small_model_cfg(arch, image_size),
        class_names={TASK: [f"class{i}" for i in range(20)]},
        optim={"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3},
    ).eval()
    ckpt = home / "bench.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}, ckpt)
    mlflow.set_tracking_uri(uri)
    location = (home / "mlartifacts").as_uri()  # beside the store, not in the working folder
    experiment = MlflowClient().create_experiment("bench", artifact_location=location)
    example = np.asarray(Image.new("RGB", (image_size, image_size)))
    with mlflow.start_run(experiment_id=experiment) as run:
        config = {"model": small_model_cfg(arch, image_size)}
        log_classifier(ckpt, module, config, "bench", example, run.info.run_id)
    register_run(run.info.run_id, NAME)
    register_run(run.info.run_id, NAME, alias=CHALLENGER)


def jpegs(count: int) -> list[bytes]:
    """Paintings-sized random JPEGs (320×256), as the app's latency row uses."""
    from PIL import Image

    rng = np.random.default_rng(0)
    encoded = []
    for _ in range(count):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (320, 256, 3), dtype=np.uint8)).save(buffer, "JPEG")
        encoded.append(buffer.getvalue())
    return encoded


#: A measurement: called with a duration, it gives (images done, seconds taken, latencies ms).
Measure = Callable[[float], tuple[int, float, list[float]]]


def in_process(images: list[bytes]) -> Measure:
    """Decode + ``rank``, one image per call, on the registered model's own network."""
    from artclf.data.images import read_square_rgb
    from artclf.data.resize import checkpoint_resize
    from artclf.inference.classifier import load_module, rank

    module = load_module(f"models:/{NAME}/1")
    size = int(module.hparams.model["image_size"])
    resize = checkpoint_resize(module.hparams.get("data"))

    def one(data: bytes) -> None:
        rank(module, read_square_rgb(io.BytesIO(data), size, resize)[None])

    return lambda seconds: _timed([one], images, seconds)


def served(url: str, images: list[bytes], clients: int) -> Measure:
    """``clients`` concurrent clients, each sending one image per request (raw JPEG bytes)
    and waiting for its answer; one keep-alive connection each, as a real client keeps."""
    sessions = [requests.Session() for _ in range(clients)]

    def client(i: int) -> Callable[[bytes], None]:
        def one(data: bytes) -> None:
            headers = {"Content-Type": "image/jpeg", "X-Client-Id": f"bench-{i}"}
            answer = sessions[i].post(f"{url}/predict", data=data, headers=headers, timeout=120)
            answer.raise_for_status()

        return one

    workers = [client(i) for i in range(clients)]
    return lambda seconds: _timed(workers, images, seconds)


def _timed(
    workers: list[Callable[[bytes], None]], images: list[bytes], seconds: float
) -> tuple[int, float, list[float]]:
    """Each worker (a thread each) calls itself on the images in turn for ``seconds``."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter()

    def run(offset: int, worker: Callable[[bytes], None]) -> None:
        mine, i = [], offset
        while time.perf_counter() - start < seconds:
            began = time.perf_counter()
            worker(images[i % len(images)])
            mine.append((time.perf_counter() - began) * 1000)
            i += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), time.perf_counter() - start, latencies


def interleaved(measures: dict[str, Measure], seconds: float, rounds: int) -> dict[str, tuple]:
    """Every measure in turn, ``rounds`` times, ``seconds / rounds`` each (after one short
    warm-up each), so a busy spell of the machine slows all of them alike: per measure, the
    images per second over all its rounds and every latency."""
    for measure in measures.values():
        measure(0.5)
    done = {name: (0, 0.0, []) for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            count, taken, latencies = measure(seconds / rounds)
            total = done[name]
            done[name] = (total[0] + count, total[1] + taken, total[2] + latencies)
    return {name: (count / taken, np.array(ms)) for name, (count, taken, ms) in done.items()}


def serving_rows(
    arch: str, image_size: int, seconds: float, clients: int = 8, rounds: int = 6
) -> list[Row]:
    """The rows of the module docstring: three servers on one registered model (plain, with
    recording off, with a shadow) and in-process ``rank``, measured interleaved."""
    images = jpegs(30)
    cache = os.environ.get("ARTCLF_CACHE")
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        uri = f"sqlite:///{home}/mlflow.db"
        os.environ["ARTCLF_CACHE"] = str(home / "cache")  # registry downloads, servers' too
        register(home, uri, arch, image_size)
        model = f"model=models:/{NAME}@champion"
        shadow = (f"serve.challenger=models:/{NAME}@challenger", "serve.shadow=true")
        with (
            ServeProcess(home, uri, model) as plain,
            ServeProcess(home, uri, model, "serve.record=false") as unrecorded,
            ServeProcess(home, uri, model, *shadow) as shadowed,
        ):
            many = f"{clients} clients"
            found = interleaved(
                {
                    "in-process": in_process(images),
                    "1 client": served(plain.url, images, 1),
                    many: served(plain.url, images, clients),
                    "recording off": served(unrecorded.url, images, clients),
                    "shadow on": served(shadowed.url, images, clients),
                },
                seconds,
                rounds,
            )
    if cache is None:
        del os.environ["ARTCLF_CACHE"]
    else:
        os.environ["ARTCLF_CACHE"] = cache
    what, inline = f"served {arch} {image_size}²", "in-process decode + rank"
    (base_rate, base_ms), (one_rate, one_ms) = found["in-process"], found["1 client"]
    many_rate, many_ms = found[many]
    rows = [
        Row(f"{what}, 1 client", one_rate, base_rate, inline),
        Row(f"{what}, {many}", many_rate, base_rate, inline),
    ]
    for q in (50, 95):
        base = float(np.percentile(base_ms, q))
        for label, ms in (("1 client", one_ms), (many, many_ms)):
            latency = float(np.percentile(ms, q))
            rows.append(Row(f"{what}, {label}, p{q} latency", latency, base, inline, unit="ms"))
    off = found["recording off"][0]
    rows.append(Row(f"{what}, {many}, recording on", many_rate, off, "recording off"))
    rows.append(Row(f"{what}, {many}, shadow on", found["shadow on"][0], many_rate, "shadow off"))
    return rows
