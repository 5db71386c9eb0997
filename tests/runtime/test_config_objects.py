"""Config turns into objects one way (``_target_``), old checkpoint configs still build, and
one device policy decides for every command."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint

from artclf.models.optim import build_optimization
from artclf.runtime.config import to_plain
from artclf.runtime.devices import DevicePolicy, device_policy
from artclf.training.callbacks import run_callbacks

SCHEDULERS = ("none", "exponential", "plateau", "cosine", "warmup_cosine")


def test_optimisers_and_schedules_build_from_their_targets(make_cfg) -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    kinds = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    pairs = zip(["sgd", "adam", "adamw", "sgd", "adam"], SCHEDULERS, strict=True)
    for optim, scheduler in pairs:
        cfg = make_cfg(f"optim={optim}", f"scheduler={scheduler}", "trainer.max_epochs=3")
        built = build_optimization(
            [param], to_plain(cfg.optim), to_plain(cfg.scheduler), max_epochs=3, monitor="m"
        )
        assert isinstance(built["optimizer"], kinds[optim])
        assert built["optimizer"].defaults["lr"] == cfg.optim.lr
        assert ("lr_scheduler" in built) == (scheduler != "none")


def test_an_old_checkpoints_named_optimiser_and_schedule_still_build() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    old = {"name": "sgd", "lr": 0.1, "momentum": 0.8, "nesterov": True, "weight_decay": 0.0}
    built = build_optimization(
        [param], old, {"name": "cosine", "eta_min": 0.0}, max_epochs=7, monitor="val/acc"
    )
    optimizer, schedule = built["optimizer"], built["lr_scheduler"]
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["momentum"] == 0.8
    assert schedule["scheduler"].T_max == 7 and schedule["monitor"] == "val/acc"
    assert "lr_scheduler" not in build_optimization(
        [param], old, {"name": "none"}, max_epochs=1, monitor="m"
    )
    with pytest.raises(ValueError, match="unknown optimiser or schedule 'lion'"):
        build_optimization([param], {"name": "lion", "lr": 1.0}, None, max_epochs=1, monitor="m")


def test_callbacks_are_their_targets_and_switch_off_by_entry(make_cfg, tmp_path) -> None:
    built, checkpoint = run_callbacks(make_cfg(), tmp_path)
    kinds = {type(c) for c in built}
    assert {ModelCheckpoint, EarlyStopping, LearningRateMonitor} <= kinds
    assert checkpoint.dirpath == str(tmp_path) and checkpoint.mode == "max"
    off = ("callbacks.early_stopping.enabled=false", "callbacks.lr_monitor=null")
    built, _ = run_callbacks(make_cfg(*off, "callbacks.progress_bar=false"), tmp_path)
    kinds = {type(c) for c in built}
    assert EarlyStopping not in kinds and LearningRateMonitor not in kinds
    assert sum(isinstance(c, ModelCheckpoint) for c in built) == 2  # best and last.ckpt


def test_one_device_policy_decides_device_and_precision(make_cfg, monkeypatch) -> None:
    cuda = DevicePolicy(torch.device("cuda"))
    assert cuda.precision == "bf16-mixed" and cuda.layout == torch.channels_last
    cpu = device_policy()
    if not torch.cuda.is_available():
        assert cpu.device.type == "cpu" and cpu.precision == "32-true"
        assert not torch.is_autocast_enabled() and make_cfg().trainer.precision == "32-true"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device_policy().device.type == "cuda"
    assert make_cfg().trainer.precision == "bf16-mixed"  # training asks the same policy
