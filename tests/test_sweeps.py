"""Sweep summaries (artclf.tracking.sweeps): child names, swept keys, leaderboard order."""

from __future__ import annotations

import math
from types import SimpleNamespace

from artclf.tracking.sweeps import child_name, leaderboard, swept_keys, to_markdown


def fake_run(name: str, status: str = "FINISHED", **metrics: float) -> SimpleNamespace:
    return SimpleNamespace(
        info=SimpleNamespace(run_name=name, run_id=f"id-{name}", status=status),
        data=SimpleNamespace(metrics={k.replace("__", "/"): v for k, v in metrics.items()}),
    )


def test_swept_keys_are_the_varying_ones_of_grid_and_search_specs() -> None:
    spec = [
        "model=simple_cnn_32,resnet18_32",
        "optim.lr=1e-3,1e-2",
        "trainer.max_epochs=2",
        "optim.weight_decay=tag(log, interval(1e-6, 1e-2))",
    ]
    assert swept_keys(spec) == ["model", "optim.lr", "optim.weight_decay"]


def test_child_names_carry_the_swept_values() -> None:
    job = ["model=resnet18_32", "optim.lr=0.001", "trainer.max_epochs=2", "seed=7"]
    assert child_name(job, ["optim.lr", "model"]) == "lr=0.001,model=resnet18_32"
    search = ["optim.lr=0.0012345678", "+extra.k=3"]
    assert child_name(search, ["optim.lr", "extra.k"]) == "lr=0.00123,k=3"
    assert child_name(job, []) == ""


def test_leaderboard_ranks_by_the_best_value_and_puts_failed_runs_last() -> None:
    runs = [
        fake_run("lr=0.1", best__val__acc=0.4, val__acc=0.2),
        fake_run("lr=0.01", best__val__acc=0.7, val__acc=0.5),
        fake_run("lr=1", status="FAILED"),
    ]
    table = leaderboard(runs, "val/acc", "max")
    assert table["name"].tolist() == ["lr=0.01", "lr=0.1", "lr=1"]
    assert table["rank"].tolist() == [1, 2, 3] and math.isnan(table["best/val/acc"][2])
    lowest = leaderboard(
        [fake_run("a", **{"final/style_loss": 3.0}), fake_run("b", **{"final/style_loss": 1.0})],
        "final/style_loss",
        "min",
    )
    assert lowest["name"].tolist() == ["b", "a"]
    markdown = to_markdown(table, ["rank", "name", "best/val/acc"]).splitlines()
    assert (
        markdown[0] == "| rank | name | best/val/acc |" and markdown[2] == "| 1 | lr=0.01 | 0.7 |"
    )
