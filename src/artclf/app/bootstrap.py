"""A fresh clone gets a working page from one command: when the store holds no registered
classifier, train the default configuration (what ``make run`` does) and register it as the
champion, under the name training and ``registry action=register`` give it
(``synthetic-origin_style``), so the README's registry and serving steps find it."""

from __future__ import annotations

import subprocess
import sys
import time

from artclf.app.store import CHAMPION, connect, logger_config, model_choices
from artclf.tracking.registry import register_trained, registered_name_of


def ensure_model(overrides: list[str] | None = None, name: str | None = None) -> str | None:
    """Register a freshly trained default model when none is registered; return its URI, or
    None when a model was already there. ``overrides`` go to ``artclf.train``."""
    client = connect()
    if model_choices(client):
        return None
    print(
        f"No registered model in {logger_config().tracking_uri}: training the default one "
        "(as `make run` does) and registering it as the champion …",
        flush=True,
    )
    started = int(time.time() * 1000)
    done = subprocess.run([sys.executable, "-m", "artclf.train", *(overrides or [])])
    if done.returncode:
        sys.exit(f"error: training the default model failed (exit {done.returncode}); see above")
    experiment = client.get_experiment_by_name(str(logger_config().experiment_name))
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"attributes.status = 'FINISHED' and attributes.start_time >= {started}",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        sys.exit("error: training logged no finished run (logger.enabled=false?); see above")
    run_id = runs[0].info.run_id
    name = name or registered_name_of(run_id, client)
    version = register_trained(run_id, name)  # the champion: the store held no classifier
    uri = f"models:/{name}@{CHAMPION}"
    print(f"Registered {uri} (version {version.version}).", flush=True)
    return uri
