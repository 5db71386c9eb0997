"""The service's options (``conf/serve.yaml``'s ``serve:``), checked once in the main process
and handed, as plain values, to the inference worker LitServe starts."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from omegaconf import OmegaConf

from artclf.tracking.registry import is_model_uri

#: Addresses LitServe binds; 0.0.0.0 and :: only when a user asks for them.
HOSTS = ("127.0.0.1", "0.0.0.0", "::")


@dataclass(frozen=True)
class Settings:
    model: str
    challenger: str | None = None
    split: float = 0.0
    shadow: bool = False
    poll_seconds: float = 2.0
    top_k: int = 5
    max_batch_size: int = 8
    batch_timeout: float = 0.005
    record: bool = True
    keep_images: bool = False
    flush_every: int = 100
    flush_seconds: float = 5.0

    @classmethod
    def from_config(cls, serve: Any) -> Settings:
        """The ``serve:`` block as settings; a value out of range is one ValueError."""
        if OmegaConf.is_missing(serve, "model"):
            raise ValueError(
                "say which model to serve: model=models:/<name>@champion "
                "(python -m artclf.registry action=list shows them)"
            )
        settings = cls(**{k: v for k, v in dict(serve).items() if v is not None})
        settings.check()
        return settings

    def check(self) -> None:
        for option, uri in (("model", self.model), ("serve.challenger", self.challenger)):
            if uri is not None and not is_model_uri(uri):
                raise ValueError(
                    f"{option}={uri!r}; serve a registered model: models:/<name>@<alias> or "
                    "models:/<name>/<version> (python -m artclf.registry action=list)"
                )
        if not 0.0 <= self.split <= 1.0:
            raise ValueError(f"serve.split={self.split}; a share of clients, from 0 to 1")
        if (self.split or self.shadow) and self.challenger is None:
            raise ValueError(
                "serve.split and serve.shadow need serve.challenger=models:/<name>@challenger"
            )
        for option, value in (
            ("serve.poll_seconds", self.poll_seconds),
            ("serve.top_k", self.top_k),
            ("serve.max_batch_size", self.max_batch_size),
            ("serve.flush_every", self.flush_every),
            ("serve.flush_seconds", self.flush_seconds),
        ):
            if value <= 0:
                raise ValueError(f"{option}={value}; must be above 0")
        if self.keep_images and not self.record:
            raise ValueError(
                "serve.keep_images keeps images in the record: drop serve.record=false"
            )
        if self.batch_timeout < 0:
            raise ValueError(f"serve.batch_timeout={self.batch_timeout}; seconds, 0 or more")


def check_address(host: str, port: int) -> None:
    """One line for an address LitServe would refuse with its own wording, or that is taken,
    before a serving run is opened."""
    if host not in HOSTS:
        raise ValueError(f"host={host}; one of {', '.join(HOSTS)} (127.0.0.1: this machine only)")
    if not 1024 <= port <= 65535:
        raise ValueError(f"port={port}; from 1024 to 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ValueError(
                f"{host}:{port} cannot be served ({error.strerror}); pass port=<another>"
            ) from None
