"""MLflow Model Registry: register a run's logged model as a version, resolve a
``models:/<name>@<alias>`` (or ``models:/<name>/<version>``) URI to the checkpoint behind it
(so every command that takes ``ckpt_path=`` takes a registered model too), list versions and
move the ``champion`` alias.

A new version gets the alias ``champion`` when the model has none yet, else ``challenger``;
only ``python -m artclf.registry action=promote`` (or ``register_run(..., alias="champion")``)
moves ``champion`` afterwards, and ``action=rollback`` moves it back. The registered model's
tag ``artclf.champion_history`` keeps the line of champions (comma-separated versions, the
current one last), so a rollback needs nothing but the registry.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from artclf.tracking.store import ensure_store

log = logging.getLogger(__name__)

_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")
CHECKPOINT_DIR = "checkpoints"
CHAMPION, CHALLENGER = "champion", "challenger"
#: Registered-model tag: the champions in order, comma-separated, the current one last.
HISTORY_TAG = "artclf.champion_history"
#: The slim checkpoint inside a logged pyfunc model (``publishing.classifier``).
MODEL_CHECKPOINT = "artifacts/model.ckpt"


def is_model_uri(source: str | Path) -> bool:
    return str(source).startswith("models:/")


def registry_client() -> MlflowClient:
    """A client whose store has a working model registry, else a ValueError naming the fix."""
    from mlflow.tracking.registry import UnsupportedModelRegistryStoreURIException

    try:
        ensure_store(mlflow.get_tracking_uri())  # created once, even by parallel first users
        client = MlflowClient()
        client.search_registered_models(max_results=1)
    except (UnsupportedModelRegistryStoreURIException, MlflowException) as error:
        reason = error.message.splitlines()[0].split(". ")[0]
        raise ValueError(
            f"the store {mlflow.get_tracking_uri()} has no usable model registry ({reason}); "
            "point MLFLOW_TRACKING_URI at a database store (sqlite:///mlflow.db) or an MLflow "
            "server with a database backend"
        ) from None
    return client


def _known(client: MlflowClient, name: str) -> str:
    """What the registry holds, for error messages: the aliases of ``name``, or the models."""
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        known = ", ".join(sorted(m.name for m in client.search_registered_models())) or "none"
        return f"registered models: {known}"
    aliases = ", ".join(f"@{a}" for a in sorted(model.aliases)) or "none"
    return f"aliases of {name}: {aliases}"


def get_version(name: str, ref: str | int, client: MlflowClient | None = None):
    """The ``ModelVersion`` of ``name`` that ``ref`` names: an alias or a version number."""
    client = client or registry_client()
    ref = str(ref)
    try:
        if ref.isdigit():
            return client.get_model_version(name, ref)
        return client.get_model_version_by_alias(name, ref)
    except MlflowException as error:
        hint = (
            "train another with logger.register=true, or pass candidate=<version>; "
            if ref == CHALLENGER
            else ""
        )
        raise ValueError(
            f"models:/{name}{'/' if ref.isdigit() else '@'}{ref}: "
            f"{error.message.splitlines()[0]} ({_known(client, name)}; {hint}"
            "`python -m artclf.registry action=list` shows versions and aliases)"
        ) from None


def model_version(uri: str, client: MlflowClient | None = None):
    """The registry's ``ModelVersion`` for ``models:/<name>@<alias>`` or ``models:/<name>/<n>``."""
    match = _MODEL_URI.match(uri)
    if match is None:
        raise ValueError(
            f"{uri!r} is not a registry URI; use models:/<name>@<alias> or models:/<name>/<version>"
        )
    return get_version(match["name"], match["alias"] or match["version"], client)


def _download(client: MlflowClient, version, uri: str, cache: Path) -> Path:
    """The version's checkpoint: inside its logged model, else under its run's checkpoints/."""
    model_id = version.model_id or _logged_model_of_source(version.source)
    if model_id:
        location = client.get_logged_model(model_id).artifact_location
        target = cache / model_id / Path(MODEL_CHECKPOINT).name
        source = f"{location.rstrip('/')}/{MODEL_CHECKPOINT}"
        if not target.is_file():
            try:
                _into_place(
                    target,
                    lambda folder: mlflow.artifacts.download_artifacts(
                        artifact_uri=source, dst_path=str(folder)
                    ),
                )
            except (MlflowException, OSError):
                raise ValueError(
                    f"{uri}: version {version.version}'s model files are missing ({source}); "
                    "register a run that still has them, or delete this version"
                ) from None
        return target
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
    target = cache / version.run_id / Path(names[0]).name
    if not target.is_file():
        _into_place(
            target, lambda folder: client.download_artifacts(version.run_id, names[0], str(folder))
        )
    return target


def _into_place(target: Path, download: Callable[[Path], object]) -> None:
    """``download`` into a private folder beside ``target``, then renamed onto it: a process
    or thread sharing the cache sees the whole file or none (MLflow copies in place)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        download(folder)
        os.replace(folder / target.name, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _logged_model_of_source(source: str | None) -> str | None:
    """``m-…`` of a version whose source is a logged model (``models:/m-…``)."""
    match = re.match(r"^models:/(m-[0-9a-f]+)$", source or "")
    return match[1] if match else None


def resolve_checkpoint(uri: str, cache_dir: str | Path | None = None) -> Path:
    """Download (once) and return the ``.ckpt`` of the model version ``uri`` names."""
    client = registry_client()
    version = model_version(uri, client)
    default = Path(os.environ.get("ARTCLF_CACHE", Path.home() / ".cache" / "artclf"))
    cache = Path(cache_dir or default / "registry")
    return _download(client, version, uri, cache)


def logged_model_id(run_id: str, client: MlflowClient) -> str | None:
    """The MLflow Model the run logged (``publishing.classifier``), if any."""
    run = client.get_run(run_id)
    models = client.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run_id}'",
        order_by=[{"field_name": "creation_timestamp", "ascending": False}],
    )
    return models[0].model_id if models else None


def version_tags(run_id: str, client: MlflowClient) -> dict[str, str]:
    """Test metrics and data fingerprint of the run, as tags of the version it becomes."""
    run = client.get_run(run_id)
    tags = {k: f"{v:.6g}" for k, v in run.data.metrics.items() if k.startswith("test/")}
    for key in ("artclf.data_fingerprint", "choice.data", "choice.model"):
        if key in run.data.tags:
            tags[key] = run.data.tags[key]
    return tags


def register_run(run_id: str, name: str, alias: str | None = CHAMPION, client=None):
    """Register the model that run ``run_id`` trained as a new version of ``name`` (created when
    absent): its logged MLflow Model, or its checkpoints for a run that logged none. The version
    is tagged with the run's test metrics; ``alias`` is moved onto it."""
    client = client or registry_client()
    try:
        client.get_registered_model(name)
    except MlflowException:
        with contextlib.suppress(MlflowException):  # created by a parallel job meanwhile
            client.create_registered_model(name)
    model_id = logged_model_id(run_id, client)
    source = f"models:/{model_id}" if model_id else f"runs:/{run_id}/{CHECKPOINT_DIR}"
    version = client.create_model_version(
        name, source=source, run_id=run_id, tags=version_tags(run_id, client), model_id=model_id
    )
    if alias:
        client.set_registered_model_alias(name, alias, version.version)
    return version


def register_trained(run_id: str, name: str):
    """Register a trained run: ``champion`` if the model has none (the start of its champion
    history), else ``challenger``; says so in one line."""
    client = registry_client()
    try:
        has_champion = CHAMPION in client.get_registered_model(name).aliases
    except MlflowException:
        has_champion = False
    alias = CHALLENGER if has_champion else CHAMPION
    version = register_run(run_id, name, alias, client)
    if alias == CHAMPION:
        client.set_registered_model_tag(name, HISTORY_TAG, str(version.version))
    log.info("registered %s v%s as @%s", name, version.version, alias)
    return version


def register_finished(run_id: str, name: str | None = None) -> tuple[str, str, str | None]:
    """``registry action=register``: run ``run_id`` as a new version of ``name`` (by default
    the name training would have used), tagged as training tags it; (name, version, alias)."""
    from artclf.tracking.queries import or_user_error

    hint = "pass the id of a finished training run (the MLflow UI's Run ID)"
    client = registry_client()
    name = name or or_user_error(hint, registered_name_of, run_id, client)
    version = str(or_user_error(hint, register_trained, run_id, str(name)).version)
    aliases = client.get_registered_model(str(name)).aliases
    return str(name), version, next((a for a, v in aliases.items() if str(v) == version), None)


def promote_first(name: str, candidate: str) -> str | None:
    """Make ``candidate`` (an alias or a version) the first ``@champion`` of ``name`` when it
    has none (there is nothing to compare with); the version, or None when it had one."""
    client = registry_client()
    if CHAMPION in client.get_registered_model(name).aliases:
        return None
    version = str(get_version(name, candidate, client).version)
    set_champion(name, version, "First champion: nothing to compare with", expected=None)
    return version


def registered_name_of(run_id: str, client: MlflowClient | None = None) -> str:
    """The name training would have registered run ``run_id`` under: ``<data>-<labels>`` for a
    classifier (``default_model_name``), the task's name for a style network."""
    run = (client or registry_client()).get_run(run_id)
    params, tags = run.data.params, run.data.tags
    task = params.get("task", "classify")
    if task != "classify":
        return task
    data = tags.get("choice.data") or params.get("data.source", "data")
    labels = params.get("data.labels", "label")
    return classifier_name(data, yaml.safe_load(labels) if labels.startswith("[") else labels)


def default_model_name(cfg) -> str:
    """A classifier's registered name, ``<data>-<labels>``: ``wikiart-style`` or
    ``synthetic-origin_style``."""
    from artclf.tracking.runs import _choices

    data = _choices(cfg).get("data") or str(cfg.data.get("source", "data"))
    return classifier_name(data, cfg.data.labels)


def classifier_name(data: str, labels: str | list[str]) -> str:
    """``<data>-<labels>``, several label columns joined by ``+``."""
    return f"{data}-{labels if isinstance(labels, str) else '+'.join(labels)}"


def registered_versions(client: MlflowClient) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """Every registered model as (name, its aliases → version, its versions → source run)."""
    return [
        (
            model.name,
            {alias: str(number) for alias, number in model.aliases.items()},
            {
                str(v.version): v.run_id
                for v in client.search_model_versions(f"name='{model.name}'")
            },
        )
        for model in client.search_registered_models()
    ]


def list_versions(name: str | None = None) -> list[dict[str, Any]]:
    """Every version (of ``name``, or of every model): aliases, source run, data, metrics."""
    client = registry_client()
    names = [name] if name else sorted(m.name for m in client.search_registered_models())
    rows = []
    for model in names:
        try:
            aliases = client.get_registered_model(model).aliases
        except MlflowException:
            raise ValueError(f"no registered model {model!r} ({_known(client, model)})") from None
        by_version: dict[str, list[str]] = {}
        for alias, number in aliases.items():
            by_version.setdefault(str(number), []).append(alias)
        for version in client.search_model_versions(f"name = '{model}'"):
            metrics = {k: float(v) for k, v in version.tags.items() if k.startswith("test/")}
            rows.append(
                {
                    "name": model,
                    "version": int(version.version),
                    "aliases": sorted(by_version.get(str(version.version), [])),
                    "run_id": version.run_id,
                    "data": version.tags.get("choice.data"),
                    "data_fingerprint": version.tags.get("artclf.data_fingerprint"),
                    "metrics": metrics,
                    "description": version.description or "",
                }
            )
    return sorted(rows, key=lambda r: (r["name"], -r["version"]))


class PromotionLost(ValueError):
    """Another promotion moved ``@champion`` first; this one changed nothing."""


def _alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    version = client.get_registered_model(name).aliases.get(alias)
    return None if version is None else str(version)


def champion_history(client: MlflowClient, name: str) -> list[str]:
    """The champions of ``name`` in order, the current one last (``HISTORY_TAG``)."""
    tag = client.get_registered_model(name).tags.get(HISTORY_TAG, "")
    return [version for version in tag.split(",") if version]


def _lineage(client: MlflowClient, name: str, current: str | None) -> list[str]:
    """The history ending with ``current``: a champion set outside artclf (the first one,
    set at registration, or one moved in the MLflow UI) joins it when it is next read."""
    history = champion_history(client, name)
    if current is not None and history[-1:] != [current]:
        history.append(current)
    return history


def set_champion(name: str, version: str | int, reason: str, expected: str | None) -> None:
    """Move ``champion`` onto ``version`` only if it still points at ``expected`` (the version
    the candidate was compared with), record why in the version's description and append it
    to the champion history (``HISTORY_TAG``).

    Compare-and-set: under the store's lock (every promotion on this machine, and every one
    sharing a SQLite file, goes one at a time) the alias is re-read before it is set and
    again after, so of two promotions at once one wins and the other raises
    ``PromotionLost`` without touching any description."""
    from artclf.tracking.store import store_lock

    client, version = registry_client(), str(version)
    with store_lock(mlflow.get_tracking_uri()):
        current = _alias_version(client, name, CHAMPION)
        if current != expected:
            raise PromotionLost(
                f"{name}@{CHAMPION} moved to v{current} while v{version} was compared with "
                f"v{expected}; v{version} was not promoted (compare again against the new "
                "champion)"
            )
        history = _lineage(client, name, current)
        client.set_registered_model_alias(name, CHAMPION, version)
        now = _alias_version(client, name, CHAMPION)
        if now != version:
            raise PromotionLost(
                f"another promotion moved {name}@{CHAMPION} to v{now} at the same time; "
                f"v{version} was not promoted"
            )
        client.set_registered_model_tag(name, HISTORY_TAG, ",".join([*history, version]))
        client.update_model_version(name, version, description=reason)


def rollback_champion(name: str) -> str:
    """Move ``champion`` back to the champion before the current one and drop the current one
    from the history; the version now champion again.

    Under the store's lock, like ``set_champion``, with the alias re-read after it is set: a
    promotion or rollback at the same moment makes this one raise ``PromotionLost``."""
    from datetime import datetime, timezone

    from artclf.tracking.store import store_lock

    client = registry_client()
    with store_lock(mlflow.get_tracking_uri()):
        try:
            current = _alias_version(client, name, CHAMPION)
        except MlflowException:
            raise ValueError(f"no registered model {name!r} ({_known(client, name)})") from None
        history = _lineage(client, name, current)[:-1]
        if current is None or not history:
            raise ValueError(
                f"{name}@{CHAMPION} has no earlier champion to roll back to (history: "
                f"{', '.join(f'v{v}' for v in [*history, current] if v) or 'none'}); "
                "promote a version first with action=promote"
            )
        previous = history[-1]
        client.set_registered_model_alias(name, CHAMPION, previous)
        now = _alias_version(client, name, CHAMPION)
        if now != previous:
            raise PromotionLost(
                f"another move set {name}@{CHAMPION} to v{now} during the rollback; "
                "run action=list and roll back again if needed"
            )
        client.set_registered_model_tag(name, HISTORY_TAG, ",".join(history))
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        client.update_model_version(
            name, previous, description=f"Champion again {when}: rolled back from v{current}"
        )
        return previous
