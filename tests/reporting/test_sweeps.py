"""Sweep summaries (artclf.tracking.sweeps): child names, swept keys; the leaderboard they put
on the parent is ``artclf.reporting.leaderboard``'s, ranked by the best epoch's metric."""

from __future__ import annotations

import math
from types import SimpleNamespace

from artclf.reporting.leaderboard import headline, leaderboard, to_markdown
from artclf.tracking.sweeps import child_name, swept_keys


def fake_run(name: str, metric: str = "val/acc", mode: str = "max", **metrics: float):
    params = {"optimized.metric": metric, "optimized.mode": mode, "optim.lr": name}
    return SimpleNamespace(
        info=SimpleNamespace(run_name=name, run_id=f"id-{name}", start_time=0, end_time=1000),
        data=SimpleNamespace(
            metrics={k.replace("__", "/"): v for k, v in metrics.items()}, params=params, tags={}
        ),
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


def test_leaderboard_ranks_by_the_best_epoch_and_puts_runs_without_it_last() -> None:
    runs = [
        fake_run("lr=0.1", best__val__acc=0.4, val__acc=0.45),  # last epoch better than best
        fake_run("lr=0.01", best__val__acc=0.7, val__acc=0.5),
        fake_run("lr=1", val__acc=0.9),  # stopped before its first best
    ]
    table = leaderboard(runs)
    assert table.attrs["ranked_by"] == "best/val/acc"
    assert table["run_name"].tolist() == ["lr=0.01", "lr=0.1", "lr=1"]
    assert list(table.columns[:5]) == [
        "run_name",
        "optim.lr",
        "best/val/acc",
        "duration_s",
        "run_id",
    ]
    assert math.isnan(table["best/val/acc"][2])
    style = [
        fake_run("a", "final/style_loss", "min", final__style_loss=3.0),
        fake_run("b", "final/style_loss", "min", final__style_loss=1.0),
    ]
    lowest = leaderboard(style)  # a stylize sweep: no best/, the final value, minimised
    assert lowest["run_name"].tolist() == ["b", "a"]
    assert lowest.attrs["ranked_by"] == "final/style_loss"
    markdown = to_markdown(headline(table)).splitlines()  # the key columns
    assert markdown[0] == "| run_name | optim.lr | best/val/acc | duration_s |"
    assert markdown[2:5] == [
        "| lr=0.01 | lr=0.01 | 0.7 | 1 |",
        "| lr=0.1 | lr=0.1 | 0.4 | 1 |",
        "| lr=1 | lr=1 |  | 1 |",
    ]
