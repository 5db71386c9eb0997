"""The inference worker LitServe starts in a process of its own: it loads the served versions
and keeps them in step with the registry, answers each batch of queued requests (a
classifier's in ``scoring``, a style model's in ``stylizing``), and records them. Ctrl-C
reaches it with the rest of the terminal's processes; it waits for the main process's SIGTERM
instead, and writes the last records before it exits."""

from __future__ import annotations

import os
import signal
from typing import Any

import litserve as ls
import mlflow

from artclf.serving import scoring, stylizing
from artclf.serving.deployment import Deployments
from artclf.serving.kinds import CLASSIFIER
from artclf.serving.recording import Recorder
from artclf.serving.settings import Settings
from artclf.serving.spec import ServingSpec


class ServingAPI(ls.LitAPI):
    """Handed to LitServe pickled: plain settings here, models and threads in ``setup``.
    ``kind``: what the served URIs are (``serving.kinds``), checked by the main process."""

    def __init__(
        self, settings: Settings, tracking_uri: str, run_id: str | None, kind: str = CLASSIFIER
    ) -> None:
        super().__init__(
            max_batch_size=settings.max_batch_size,
            batch_timeout=settings.batch_timeout,
            spec=ServingSpec(kind, settings.model),
        )
        self.settings = settings
        self.tracking_uri = tracking_uri
        self.run_id = run_id
        self.kind = kind

    def setup(self, device: str) -> None:
        """Load the versions (on CUDA where there is one: ``device_policy``), start polling
        the aliases and the recorder."""
        mlflow.set_tracking_uri(self.tracking_uri)
        settings = self.settings
        self.deployments = Deployments(
            settings.model, settings.challenger, settings.poll_seconds, self.kind
        )
        self.deployments.start()
        self.recorder = None
        if settings.record and self.run_id:
            self.recorder = Recorder(self.run_id, settings.flush_every, settings.flush_seconds)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self.stop)

    def stop(self, *_: Any) -> None:
        self.deployments.stop()
        if self.recorder is not None:
            self.recorder.close()
        os._exit(0)

    def decode_request(self, request: dict) -> dict:
        return request

    def predict(self, batch: list[dict] | dict) -> list[dict] | dict:
        single = isinstance(batch, dict)  # serve.max_batch_size=1: LitServe passes one request
        requests = [batch] if single else batch
        answer = scoring.answer_batch if self.kind == CLASSIFIER else stylizing.answer_batch
        answers = answer(self.deployments.current, requests, self.settings, self.recorder)
        return answers[0] if single else answers

    def encode_response(self, output: dict) -> dict:
        return output
