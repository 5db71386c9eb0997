"""MLflow Model Registry: resolve a ``models:/<name>@<alias>`` (or ``models:/<name>/<version>``)
URI to the training checkpoint behind it, so every command that takes ``ckpt_path=`` can take a
registered model too."""

from __future__ import annotations

import re
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from artclf.tracking.store import ensure_store

_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")
CHECKPOINT_DIR = "checkpoints"


def is_model_uri(source: str | Path) -> bool:
    return str(source).startswith("models:/")


def model_version(uri: str, client: MlflowClient | None = None):
    """The registry's ``ModelVersion`` for ``models:/<name>@<alias>`` or ``models:/<name>/<n>``."""
    match = _MODEL_URI.match(uri)
    if match is None:
        raise ValueError(
            f"model={uri!r} is not a registry URI; use models:/<name>@<alias> or "
            "models:/<name>/<version>"
        )
    if client is None:
        ensure_store(mlflow.get_tracking_uri())
        client = MlflowClient()
    name, alias, version = match["name"], match["alias"], match["version"]
    try:
        if alias:
            return client.get_model_version_by_alias(name, alias)
        return client.get_model_version(name, version)
    except MlflowException as error:
        known = ", ".join(sorted(m.name for m in client.search_registered_models())) or "none"
        raise ValueError(
            f"{uri}: {error.message.splitlines()[0]} (registered models: {known}; "
            "`python -m artclf.registry action=list` shows versions and aliases)"
        ) from None


def resolve_checkpoint(uri: str, cache_dir: str | Path | None = None) -> Path:
    """Download (once) and return the ``.ckpt`` that the model version's run logged."""
    client = MlflowClient()
    version = model_version(uri, client)
    if not version.run_id:
        raise ValueError(f"{uri}: version {version.version} has no source run to load it from")
    names = [
        f.path
        for f in client.list_artifacts(version.run_id, CHECKPOINT_DIR)
        if f.path.endswith(".ckpt")
    ]
    if not names:
        raise ValueError(
            f"{uri}: run {version.run_id} has no checkpoint under {CHECKPOINT_DIR}/; "
            "train it again with logger.log_checkpoint=true"
        )
    root = Path(cache_dir or Path.home() / ".cache" / "artclf" / "registry") / version.run_id
    target = root / names[0]
    if not target.is_file():
        root.mkdir(parents=True, exist_ok=True)
        client.download_artifacts(version.run_id, names[0], str(root))
    return target


def register_run(run_id: str, name: str, alias: str | None = "champion", client=None):
    """Register the model that run ``run_id`` trained as a new version of ``name`` (created when
    absent), pointing at the run's checkpoints; ``alias`` is moved onto the new version."""
    client = client or MlflowClient()
    try:
        client.get_registered_model(name)
    except MlflowException:
        try:
            client.create_registered_model(name)
        except MlflowException:  # created by a parallel job meanwhile
            pass
    version = client.create_model_version(
        name, source=f"runs:/{run_id}/{CHECKPOINT_DIR}", run_id=run_id
    )
    if alias:
        client.set_registered_model_alias(name, alias, version.version)
    return version
