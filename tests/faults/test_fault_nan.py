"""Item 7: a diverging training stops, fails its run with the reason and keeps no NaN model;
a NaN checkpoint is refused in one line instead of printing invalid JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from fault_helpers import assert_one_error_line, run_cli, runs_in
from mlflow.tracking import MlflowClient
from PIL import Image

from artclf.train import train
from artclf.training.finite import NonFiniteLossError
from conftest import TINY_SYNTHETIC

FAST = (*TINY_SYNTHETIC, "trainer.accelerator=cpu", "callbacks.progress_bar=false")


def test_nan_loss_stops_and_fails_the_run(make_cfg, tmp_path: Path) -> None:
    store = tmp_path / "mlflow.db"
    cfg = make_cfg(
        *FAST, "optim.lr=1e20", "trainer.max_epochs=3", f"logger.tracking_uri=sqlite:///{store}"
    )
    with pytest.raises(NonFiniteLossError, match="diverged"):
        train(cfg)
    (run,) = runs_in(store)
    assert run.info.status == "FAILED"
    assert "diverged" in run.data.tags["artclf.failure"]
    client = MlflowClient(f"sqlite:///{store}")
    assert [a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")] == []
    for path in (tmp_path / "run" / "checkpoints").glob("*.ckpt"):
        weights = torch.load(path, weights_only=True)["state_dict"].values()
        assert all(torch.isfinite(w).all() for w in weights if w.is_floating_point()), path


def test_predict_refuses_a_nan_checkpoint_in_one_line(make_cfg, tmp_path: Path) -> None:
    train(make_cfg(*FAST, "logger=none", "trainer.max_epochs=1"))
    good = next((tmp_path / "run" / "checkpoints").glob("epoch*.ckpt"))
    state = torch.load(good, weights_only=True)
    first = next(k for k, v in state["state_dict"].items() if v.is_floating_point())
    state["state_dict"][first] = torch.full_like(state["state_dict"][first], float("nan"))
    nan_ckpt = tmp_path / "nan.ckpt"
    torch.save(state, nan_ckpt)
    image = tmp_path / "a.png"
    Image.new("RGB", (40, 40), (120, 30, 200)).save(image)
    done = run_cli(
        "predict", f"ckpt_path={nan_ckpt}", f"input={image}", "output=json", home=tmp_path
    )
    assert_one_error_line(done, "non-finite weights", str(nan_ckpt))
    done = run_cli("predict", f"ckpt_path={good}", f"input={image}", "output=json", home=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    json.loads(done.stdout)  # strict JSON: NaN would not parse with a strict reader below
    assert "NaN" not in done.stdout
