"""The optimised metric and its direction are declared once and every watcher follows them."""

from __future__ import annotations

import pytest
import torch

from artclf.models.optim import build_optimization
from artclf.runtime.config import to_plain


def plateau_lrs(cfg, values: list[float]) -> list[float]:
    """The learning rate after each epoch when the watched metric takes ``values``."""
    parameter = torch.nn.Parameter(torch.zeros(1))
    built = build_optimization(
        [parameter],
        to_plain(cfg.optim),
        to_plain(cfg.scheduler),
        max_epochs=len(values),
        monitor=str(cfg.optimized.metric),
    )
    schedule = built["lr_scheduler"]["scheduler"]
    assert built["lr_scheduler"]["monitor"] == cfg.optimized.metric
    lrs = []
    for value in values:
        schedule.step(value)
        lrs.append(built["optimizer"].param_groups[0]["lr"])
    return lrs


def test_plateau_steps_the_way_of_a_minimised_metric(make_cfg) -> None:
    cfg = make_cfg("optimized_metric=val/loss", "optimized_mode=min", "scheduler=plateau")
    lr = float(cfg.optim.lr)
    improving = plateau_lrs(cfg, [1.0, 0.9, 0.8, 0.7, 0.6, 0.5])  # a falling loss: keep the lr
    assert improving == [lr] * 6
    worsening = plateau_lrs(cfg, [1.0, 1.1, 1.2, 1.3, 1.4])  # patience 2, then cut by 10
    assert worsening[-1] < lr
    callbacks = cfg.callbacks
    assert callbacks.checkpoint.monitor == callbacks.early_stopping.monitor == "val/loss"
    assert callbacks.checkpoint.mode == callbacks.early_stopping.mode == "min"


def test_default_watches_accuracy_upwards(make_cfg) -> None:
    cfg = make_cfg("scheduler=plateau")
    assert (cfg.optimized.metric, cfg.optimized.mode) == ("val/acc", "max")
    assert plateau_lrs(cfg, [0.1, 0.2, 0.3, 0.4, 0.5]) == [float(cfg.optim.lr)] * 5
    assert cfg.callbacks.checkpoint.mode == "max"


def test_presets_set_the_direction_once(make_cfg) -> None:
    cyclegan = make_cfg("experiment=cyclegan_monet", "scheduler=plateau")
    assert (cyclegan.optimized.metric, cyclegan.optimized.mode) == ("val/cycle_loss", "min")
    assert cyclegan.callbacks.checkpoint.mode == cyclegan.scheduler.mode == "min"
    stylize = make_cfg(config_name="stylize")
    assert (stylize.optimized.metric, stylize.optimized.mode) == ("final/style_loss", "min")


def one_error_line(capsys, fn, *args) -> str:
    from artclf.runtime.cli import run_or_exit

    with pytest.raises(SystemExit) as exited:
        run_or_exit(fn, *args)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert exited.value.code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("optimized_mode=foo", "optimized_mode='foo'; valid choices: max, min"),
        ("optimized_metric=val/acx", "optimized_metric='val/acx' is not logged"),
        ("optimized_metric=test/acc", "valid choices: val/loss, val/acc, val/macro_f1"),
    ],
)
def test_a_bad_optimized_setting_is_one_line_before_any_run(
    make_cfg, tmp_path, capsys, override: str, named: str
) -> None:
    from artclf.train import train

    store = tmp_path / "mlflow.db"
    cfg = make_cfg(override, f"logger.tracking_uri=sqlite:///{store}", "trainer.accelerator=cpu")
    assert named in one_error_line(capsys, train, cfg)
    assert not store.exists()  # found before the store, a run or a trainer


def test_the_module_logs_every_metric_the_check_accepts(make_cfg) -> None:
    from artclf.training.validation import check_classifier_metric, check_optimized

    for metric in ("val/loss", "val/macro_f1", "train/acc", "val/style/acc", "val/top5_acc"):
        check_classifier_metric(make_cfg(f"optimized_metric={metric}"))
    check_optimized(make_cfg("experiment=cyclegan_monet"))  # its own metrics: not checked


def test_a_loss_is_never_maximised(make_cfg) -> None:
    """``experiment=adain`` set ``optimized_metric: val/loss`` without the mode, so every
    watcher kept the worst epoch and a sweep picked its worst job."""
    from artclf.training.validation import check_optimized

    with pytest.raises(ValueError, match="maximises a loss; set optimized_mode=min"):
        check_optimized(make_cfg("optimized_metric=val/loss"))
    check_optimized(make_cfg("optimized_metric=val/loss", "optimized_mode=min"))


def test_tune_refuses_a_bad_mode_before_the_study_exists(tmp_path, capsys, monkeypatch) -> None:
    from artclf.training.tuning import compose, tune

    monkeypatch.setenv("ARTCLF_HOME", str(tmp_path))
    cfg = compose(["search=train_random", "study=s", "optimized_mode=maximise"])
    assert "valid choices: max, min" in one_error_line(capsys, tune, cfg)
    assert not list(tmp_path.rglob("*.db"))
