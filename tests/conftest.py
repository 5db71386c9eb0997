"""Shared test setup: offline, isolated stores and caches, and a config composer."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"  # else timm retries the hub for ~46 s
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ.pop("MLFLOW_TRACKING_URI", None)

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from artclf.runtime.config import CONFIG_DIR

#: How far one forward pass may differ from the same pass in another process. On the CPU
#: (float32, deterministic) not at all; on CUDA the bf16 forward of another process may pick
#: other cuDNN kernels (seen on an H200: 3e-4 in a probability, 1 in a uint8 pixel).
ON_CUDA = torch.cuda.is_available()
PROBABILITY_ATOL = 2e-3 if ON_CUDA else 1e-5
PIXEL_ATOL = 1 if ON_CUDA else 0

#: Overrides that make the embedded dataset tiny: 30 folders x (6 train + 2 test) at 32 px.
TINY_SYNTHETIC = (
    "data.synthetic.train_per_class=6",
    "data.synthetic.test_per_class=2",
    "data.synthetic.size=32",
    "data.num_workers=0",
    "data.batch_size=32",
)


def tiny_training(cache: Path, uri: str) -> tuple[str, ...]:
    """Overrides for a quick CPU training of the default simple CNN on the tiny embedded
    dataset, tracked at ``uri`` (explicit: an earlier test's ``mlflow.set_tracking_uri``
    leaves ``MLFLOW_TRACKING_URI`` set)."""
    return (
        *TINY_SYNTHETIC,
        f"paths.cache_dir={cache}",
        "trainer.accelerator=cpu",
        "callbacks.progress_bar=false",
        f"logger.tracking_uri={uri}",
    )


def tiny_adain(contents: Path, styles: Path, uri: str, size: int) -> tuple[str, ...]:
    """Overrides for a two-step CPU training of a narrow AdaIN decoder on ``size``-pixel
    content and style folders, tracked at ``uri`` (one epoch, a quarter held out)."""
    return (
        "experiment=adain",
        f"data.domain_a={contents}",
        f"data.domain_b={styles}",
        f"logger.tracking_uri={uri}",
        "adain.decoder_width=16",
        f"data.image_size={size}",
        f"data.load_size={size + 4}",
        "data.num_workers=0",
        "data.batch_size=2",
        "data.val_fraction=0.25",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.accelerator=cpu",
        "callbacks.progress_bar=false",
    )


def compose_cfg(name: str, home: Path, *overrides: str) -> DictConfig:
    """Compose ``conf/<name>.yaml`` for a run at home ``home`` (its run folder ``home/name``)."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(
            config_name=name,
            overrides=[f"paths.root_dir={home}", f"paths.run_dir={home / name}", *overrides],
        )


def train_tiny(home: Path, cache: Path, *overrides: str) -> tuple[DictConfig, Any]:
    """One tiny tracked training at ``home`` (store ``home/mlflow.db``): its config and its
    MLflow run."""
    from mlflow.tracking import MlflowClient

    from artclf.train import train

    uri = f"sqlite:///{home}/mlflow.db"
    cfg = compose_cfg("train", home, *tiny_training(cache, uri), *overrides)
    train(cfg)
    client = MlflowClient(uri)
    (run,) = client.search_runs(client.get_experiment_by_name("artclf-train").experiment_id)
    return cfg, run


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the session, so the tiny synthetic dataset is generated once."""
    return tmp_path_factory.mktemp("artclf-cache")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_cache: Path) -> None:
    monkeypatch.setenv("ARTCLF_HOME", str(tmp_path))
    monkeypatch.setenv("ARTCLF_CACHE", str(shared_cache))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose ``conf/<config_name>.yaml`` with overrides, writing into ``tmp_path``."""

    def make(*overrides: str, config_name: str = "train") -> DictConfig:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(
                config_name=config_name,
                overrides=[f"paths.run_dir={tmp_path / 'run'}", *overrides],
                return_hydra_config=False,
            )
        return cfg

    return make


@pytest.fixture
def real_data() -> Path:
    """The real WikiArt sample (``ARTCLF_REAL_DATA``, set by .ci/run); skip when absent."""
    root = os.environ.get("ARTCLF_REAL_DATA")
    if not root or not Path(root).is_dir():
        pytest.skip("ARTCLF_REAL_DATA is not set to the wikiart_sample folder (.ci/run sets it)")
    return Path(root)


def run_artclf(
    home: Path, cache: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 900
) -> subprocess.CompletedProcess:
    """``python -m <args>`` in ``home`` (its store and outputs there) with the shared cache."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=home,
        env={**os.environ, "ARTCLF_HOME": str(home), "ARTCLF_CACHE": str(cache), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def artifact_paths(store: str, run_id: str, folder: str) -> set[str]:
    """The paths of the artifacts of ``run_id`` under ``folder``."""
    from mlflow.tracking import MlflowClient

    return {f.path for f in MlflowClient(store).list_artifacts(run_id, folder)}
