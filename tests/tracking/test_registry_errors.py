"""Registry mistakes are one ``error:`` line naming the fix (issue 12 item 5): an unknown model,
an unknown alias, a version whose files are gone, a store that has no model registry; through
the library call every ``ckpt_path=models:/…`` command makes, and through two commands."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from artclf.runtime.cli import run_or_exit
from artclf.tracking.registry import register_run, resolve_checkpoint


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A registry with ``nofiles`` (a logged model whose files were never written) and
    ``nockpt`` (a run registered without a model or a checkpoint); made once (a new SQLite
    store costs seconds of migrations)."""
    home = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)  # registering a logged model looks it up in this store
    client = MlflowClient(uri)
    experiment = client.create_experiment("e", artifact_location=(home / "art").as_uri())
    run_id = client.create_run(experiment).info.run_id
    model = client.create_logged_model(experiment, source_run_id=run_id)
    client.create_registered_model("nofiles")
    version = client.create_model_version(
        "nofiles", f"models:/{model.model_id}", run_id=run_id, model_id=model.model_id
    )
    client.set_registered_model_alias("nofiles", "champion", version.version)
    register_run(client.create_run(experiment).info.run_id, "nockpt", client=client)
    return uri


@pytest.fixture
def store(registry: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry)
    mlflow.set_tracking_uri(registry)
    return registry


def one_error_line(capsys: pytest.CaptureFixture, uri: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        run_or_exit(resolve_checkpoint, uri, None)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/nope@champion", "registered models: nockpt, nofiles"),
        ("models:/nofiles@gold", "aliases of nofiles: @champion"),
        ("models:/nofiles/7", "action=list"),
        ("models:/nofiles@champion", "model files are missing"),
        ("models:/nockpt@champion", "logger.log_checkpoint=true"),
        ("models:/nofiles", "use models:/<name>@<alias> or models:/<name>/<version>"),
    ],
)
def test_registry_mistakes_are_one_line(store: str, capsys, uri: str, expected: str) -> None:
    assert expected in one_error_line(capsys, uri)


def test_a_store_without_a_registry_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())  # a file store: no registry
    err = one_error_line(capsys, "models:/any@champion")
    assert "has no usable model registry" in err and "sqlite:///" in err


@pytest.mark.parametrize(
    ("entry", "overrides"),
    [
        ("predict", ["ckpt_path=models:/nope@champion", "input=x.jpg"]),
        ("stylize", ["method=cyclegan", "ckpt_path=models:/nofiles@gold", "input=x.jpg"]),
    ],
)
def test_commands_print_the_registry_error_in_one_line(
    store: str, make_cfg, capsys, entry: str, overrides: list[str]
) -> None:
    """What ``python -m artclf.<entry>`` runs: ``run_or_exit(<entry>, cfg)`` (in this process:
    a subprocess only adds minutes of imports on a loaded 2-core machine)."""
    import importlib

    command = getattr(importlib.import_module(f"artclf.{entry}"), entry)
    cfg = make_cfg(*overrides, config_name=entry)  # the store: MLFLOW_TRACKING_URI
    with pytest.raises(SystemExit) as exit_info:
        run_or_exit(command, cfg)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: models:/") and "\n" not in err, err
