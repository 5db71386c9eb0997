"""A registered model version resolves to the checkpoint its training run logged."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient

from artclf.tracking.registry import register_run, resolve_checkpoint
from artclf.train import train
from conftest import TINY_SYNTHETIC


def test_registered_run_resolves_to_its_logged_checkpoint(make_cfg, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    cfg = make_cfg(
        *TINY_SYNTHETIC,
        "trainer.max_epochs=1",
        "trainer.accelerator=cpu",
        f"logger.tracking_uri={store}",
    )
    train(cfg)
    client = MlflowClient(store)
    run = client.search_runs(client.search_experiments()[0].experiment_id)[0]
    import mlflow

    mlflow.set_tracking_uri(store)
    version = register_run(run.info.run_id, "tiny-style")
    assert client.get_model_version_by_alias("tiny-style", "champion").version == version.version

    path = resolve_checkpoint("models:/tiny-style@champion", cache_dir=tmp_path / "cache")
    assert path.suffix == ".ckpt" and path.is_file()
    assert torch.load(path, weights_only=True, map_location="cpu")["hyper_parameters"]
    assert resolve_checkpoint(f"models:/tiny-style/{version.version}", tmp_path / "cache") == path

    with pytest.raises(ValueError, match="registered models: tiny-style"):
        resolve_checkpoint("models:/nope@champion")
    with pytest.raises(ValueError, match="not a registry URI"):
        resolve_checkpoint("models:/tiny-style")
