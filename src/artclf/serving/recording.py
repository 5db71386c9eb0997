"""The record of every request, written without slowing the answers down.

Answers put records on a queue and return; a thread writes them in batches (every
``flush_every`` records or ``flush_seconds``) as JSON lines into the serving process's MLflow
run (experiment ``artclf-serving``): ``requests/<time>-<pid>.jsonl`` for predictions (champion,
challenger and shadow), ``feedback/...`` for feedback, with latency percentiles as the run's
metrics. The records hold an image's sha256 and size, never its bytes. ``reading`` reads them
back."""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from datetime import datetime, timezone
from typing import Any

import numpy as np
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from artclf.tracking.retry import retry_locked

log = logging.getLogger(__name__)

EXPERIMENT = "artclf-serving"
PREDICTION, FEEDBACK = "prediction", "feedback"
#: The run folder of each kind of record.
FOLDERS = {PREDICTION: "requests", FEEDBACK: "feedback"}
#: Records held when the store is unreachable; past it the oldest are dropped (and counted).
MAX_PENDING = 20_000


def now() -> str:
    """The time records carry: ISO 8601, UTC, microseconds (sorts as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class Recorder:
    """``put`` a record (a JSON-able dict with a ``kind``); ``close`` writes what is left."""

    def __init__(self, run_id: str, flush_every: int = 100, flush_seconds: float = 5.0) -> None:
        self.run_id = run_id
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self.client = MlflowClient()
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.pending: list[dict[str, Any]] = []
        self.flushes = self.answered = self.dropped = 0
        self._thread = threading.Thread(target=self._loop, name="artclf-recorder", daemon=True)
        self._thread.start()

    def put(self, record: dict[str, Any]) -> None:
        self.queue.put(record)

    def close(self, timeout: float = 4.0) -> None:
        self.queue.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        deadline = time.monotonic() + self.flush_seconds
        while True:
            try:
                record = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                record = {}
            if record is None:
                return self._flush()
            if record:
                self.pending.append(record)
            if len(self.pending) >= self.flush_every or time.monotonic() >= deadline:
                self._flush()
                deadline = time.monotonic() + self.flush_seconds

    def _flush(self) -> None:
        """One file per kind of record; what could not be written waits for the next flush."""
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
            if r["kind"] == PREDICTION and r["route"] != "shadow" and r["index"] == 0
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
