"""Shared test setup: offline, isolated stores and caches, and a config composer."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # else timm retries the hub for ~46 s
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ.pop("MLFLOW_TRACKING_URI", None)

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from artclf.config import CONFIG_DIR

#: Overrides that make the embedded dataset tiny: 30 folders x (6 train + 2 test) at 32 px.
TINY_SYNTHETIC = (
    "data.synthetic.train_per_class=6",
    "data.synthetic.test_per_class=2",
    "data.synthetic.size=32",
    "data.num_workers=0",
    "data.batch_size=32",
)


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
