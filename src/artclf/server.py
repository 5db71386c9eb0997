"""``python -m artclf.server [port=5000] [host=0.0.0.0]`` (``make server``): an MLflow tracking
server on PostgreSQL for a team, until Ctrl-C (see ``artclf.tracking.server``)."""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from artclf.runtime.cli import run_or_exit
from artclf.tracking.server import tracking_server


def serve(cfg: DictConfig) -> None:
    # SIGTERM ends the process like Ctrl-C, so both servers are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    folder = Path(cfg.folder)
    with tracking_server(folder, str(cfg.host), int(cfg.port), int(cfg.db_port)) as url:
        print(f"MLflow tracking server on {url} (PostgreSQL and artifacts in {folder})")
        print(f"  clients: export MLFLOW_TRACKING_URI={url}   Ctrl-C stops it")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


@hydra.main(version_base="1.3", config_path="conf", config_name="server")
def main(cfg: DictConfig) -> None:
    run_or_exit(serve, cfg)


if __name__ == "__main__":
    main()
