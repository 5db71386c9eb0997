"""The record of every request, written without slowing the answers down.

Answers put records on a queue and return; a thread writes them in batches (every
``flush_every`` records or ``flush_seconds``) as JSON lines into the serving process's MLflow
run (experiment ``artclf-serving``): ``requests/<time>-<pid>.jsonl`` for predictions (champion,
challenger and shadow), ``feedback/...`` for feedback, with latency percentiles as the run's
metrics. The records hold an image's sha256 and size, never its bytes; the bytes themselves
are kept only when asked (``keep``: ``serve.keep_images``, or an image a client sends with its
feedback), once per image, as ``images/<sha256[:2]>/<sha256>.<ext>`` in the same run.
``reading`` reads the records back."""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from artclf.data.images import image_suffix
from artclf.tracking.retry import retry_locked

log = logging.getLogger(__name__)

EXPERIMENT = "artclf-serving"
PREDICTION, FEEDBACK, STYLIZATION = "prediction", "feedback", "stylization"
#: The run folder of each kind of record.
FOLDERS = {PREDICTION: "requests", FEEDBACK: "feedback", STYLIZATION: "stylizations"}
#: Records held when the store is unreachable; past it the oldest are dropped (and counted).
MAX_PENDING = 20_000
#: Kept images: their kind on the queue, their run folder, how many wait on disk at most
#: while the store is unreachable (later ones are dropped, and counted).
IMAGE, IMAGES = "image", "images"
MAX_SPOOLED = 2_000
#: Requests whose image digests the process remembers (about 20 MB), to check an image sent
#: with feedback against the one that was scored.
MAX_REMEMBERED = 100_000


def now() -> str:
    """The time records carry: ISO 8601, UTC, microseconds (sorts as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def kept_image_path(digest: str, data: bytes) -> str:
    """Where in its run an image's bytes are kept: by content, so each is stored once."""
    return f"{IMAGES}/{digest[:2]}/{digest}{image_suffix(data)}"


def _remember(table: OrderedDict, key: Hashable, value: Any) -> None:
    """``table[key] = value``, forgetting the oldest entry past ``MAX_REMEMBERED``."""
    table[key] = value
    table.move_to_end(key)
    if len(table) > MAX_REMEMBERED:
        table.popitem(last=False)


class Recorder:
    """``put`` a record (a JSON-able dict with a ``kind``), ``keep`` an image's bytes;
    ``close`` writes what is left. ``put`` and ``keep`` are called by one thread (the
    inference worker's), the writing is done by the recorder's own."""

    def __init__(self, run_id: str, flush_every: int = 100, flush_seconds: float = 5.0) -> None:
        self.run_id = run_id
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self.client = MlflowClient()
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.pending: list[dict[str, Any]] = []
        self.flushes = self.answered = self.dropped = self.spooled = 0
        #: (request id, image index) -> sha256 of the latest requests; digests kept
        self.digests: OrderedDict[tuple[str, int], str] = OrderedDict()
        self.kept: OrderedDict[str, None] = OrderedDict()
        self.spool: Path | None = None  # kept images waiting to be written, on disk
        self._thread = threading.Thread(target=self._loop, name="artclf-recorder", daemon=True)
        self._thread.start()

    def put(self, record: dict[str, Any]) -> None:
        if record["kind"] == PREDICTION:
            key = (record["request_id"], record["index"])
            _remember(self.digests, key, record["image_sha256"])
        self.queue.put(record)

    def keep(self, digest: str, data: bytes) -> None:
        """Store the image's bytes in the run, once per process however often it comes."""
        if digest not in self.kept:
            _remember(self.kept, digest, None)
            self.queue.put({"kind": IMAGE, "sha256": digest, "data": data})

    def digest(self, request_id: str, index: int) -> str | None:
        """The sha256 of image ``index`` of a request this process recorded lately, else None."""
        return self.digests.get((request_id, index))

    def close(self, timeout: float = 4.0) -> None:
        self.queue.put(None)
        self._thread.join(timeout)
        if self.spool is not None and not self._thread.is_alive():
            shutil.rmtree(self.spool, ignore_errors=True)

    def _loop(self) -> None:
        deadline = time.monotonic() + self.flush_seconds
        while True:
            try:
                record = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                record = {}
            if record is None:
                return self._flush()
            if record.get("kind") == IMAGE:
                self._spool(record["sha256"], record["data"])
            elif record:
                self.pending.append(record)
            waiting = len(self.pending) + self.spooled
            if waiting >= self.flush_every or time.monotonic() >= deadline:
                self._flush()
                deadline = time.monotonic() + self.flush_seconds

    def _spool(self, digest: str, data: bytes) -> None:
        """The image's bytes on disk until the next flush writes them into the run."""
        if self.spooled >= MAX_SPOOLED:
            self.dropped += 1
            return
        try:
            if self.spool is None:
                self.spool = Path(tempfile.mkdtemp(prefix="artclf-kept-"))
            path = self.spool / kept_image_path(digest, data)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            self.spooled += 1
        except OSError as error:
            log.warning("keeping image %s: %s; not kept", digest[:12], error)
            self.dropped += 1

    def _flush(self) -> None:
        """The kept images, then one file per kind of record; what could not be written waits
        for the next flush."""
        if self.spooled:
            try:
                retry_locked(self.client.log_artifacts, self.run_id, str(self.spool))
                shutil.rmtree(self.spool / IMAGES)
                self.spooled = 0
            except Exception as error:  # the store is away: the files wait on disk
                log.warning("keeping images in MLflow: %s; they wait", str(error).splitlines()[0])
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        written: list[dict[str, Any]] = []
        try:
            for kind, folder in FOLDERS.items():
                batch = [r for r in self.pending if r["kind"] == kind]
                if batch:
                    text = "".join(json.dumps(r) + "\n" for r in batch)
                    name = f"{folder}/{stamp}-{os.getpid()}.jsonl"
                    retry_locked(self.client.log_text, self.run_id, text, name)
                    written += batch
                    self.pending = [r for r in self.pending if r["kind"] != kind]
            if written:
                self._log_metrics(written)
        except Exception as error:  # the store is away: keep the rest for the next flush
            log.warning(
                "recording to MLflow: %s; unwritten records wait", str(error).splitlines()[0]
            )
            self.dropped += max(0, len(self.pending) - MAX_PENDING)
            del self.pending[:-MAX_PENDING]

    def _log_metrics(self, records: list[dict[str, Any]]) -> None:
        """Latency percentiles of the requests answered in ``records`` (shadow scores answer
        no one; one latency per request, not per image), and running counts."""
        latencies = [
            r["latency_ms"]
            for r in records
            if r["kind"] in (PREDICTION, STYLIZATION) and r["route"] != "shadow" and r["index"] == 0
        ]
        self.answered += len(latencies)
        self.flushes += 1
        values = {"serving/answered": self.answered, "serving/dropped_records": self.dropped}
        if latencies:
            values["serving/latency_ms_p50"] = float(np.percentile(latencies, 50))
            values["serving/latency_ms_p95"] = float(np.percentile(latencies, 95))
        stamp = int(time.time() * 1000)
        metrics = [Metric(k, float(v), stamp, self.flushes) for k, v in values.items()]
        retry_locked(self.client.log_batch, self.run_id, metrics=metrics)
