"""``python -m artclf.serve``: check the options and the registered versions in one line
each, open the serving run in MLflow (experiment ``artclf-serving``: the record of every
request goes there) and run LitServe until Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal

import litserve as ls
import mlflow
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig

from artclf.runtime.devices import device_policy
from artclf.serving.kinds import ROUTES, check_kinds
from artclf.serving.settings import Settings, check_address
from artclf.serving.slots import load_slot
from artclf.serving.worker import ServingAPI
from artclf.tracking import start_run
from artclf.tracking.artifacts import tag_run
from artclf.tracking.registry import model_version


def serve(cfg: DictConfig) -> None:
    settings = Settings.from_config(cfg.serve)
    host, port = str(cfg.host), int(cfg.port)
    check_address(host, port)
    if "tracking_uri" not in cfg.logger:
        raise ValueError(
            "logger=none leaves no registry to serve from; keep logger=mlflow (serve.record=false "
            "records nothing)"
        )
    tracking_uri = str(cfg.logger.tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    serving = [uri for uri in (settings.model, settings.challenger) if uri]
    client = MlflowClient()
    kinds = {  # a missing alias or a model artclf does not serve: one line, now
        uri: load_slot(uri, model_version(uri, client), client, device="cpu").kind
        for uri in serving  # downloaded once, checked
    }
    kind = check_kinds(kinds, settings)
    stop_like_ctrl_c()
    with start_run(cfg) as run:
        run_id = run.info.run_id if run and settings.record else None
        if run_id:
            tag_run(run_id, {"artclf.serving.models": " ".join(serving)})
        api = ServingAPI(settings, tracking_uri, run_id, kind)
        accelerator = "cuda" if device_policy().on_cuda else "cpu"
        server = ls.LitServer(api, accelerator=accelerator, devices=1, timeout=cfg.timeout)
        routes = ", ".join([*(f"POST {r}" for r in ROUTES[kind]), "GET /metadata", "GET /health"])
        print(f"serving {' and '.join(serving)} on http://{host}:{port} ({routes}); Ctrl-C stops")
        if run_id:
            print(f"  requests recorded in MLflow run {run_id} (experiment artclf-serving)")
        server.run(host=host, port=port, generate_client_file=False, log_level=str(cfg.log_level))


def stop_like_ctrl_c() -> None:
    """SIGTERM stops the main process as Ctrl-C does (LitServe then stops its processes and
    the worker writes its last records); the HTTP processes LitServe forks end quietly on
    either signal instead of printing a KeyboardInterrupt traceback."""
    main = os.getpid()

    def stop(signum: int, _frame) -> None:
        if os.getpid() == main:
            raise KeyboardInterrupt
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
