"""``python -m artclf.report [sweep=<parent id> | runs=[...] | experiment_name=<name>]``:
leaderboard (terminal, markdown, CSV), figures and one self-contained HTML page of a set of
runs; a sweep's report is also logged to its parent run. ``table=results|ablation`` writes a
markdown table into a README instead (``artclf.reporting.tables``). See ``conf/report.yaml``."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from artclf.runtime.cli import run_or_exit


def report(cfg: DictConfig):
    from artclf.reporting.run_report import write_report
    from artclf.tracking.queries import connect, or_user_error
    from artclf.tracking.selection import select_runs

    runs = [str(r) for r in cfg.runs] if cfg.get("runs") else None
    if sum(x is not None for x in (cfg.sweep, runs, cfg.experiment_name)) > 1:
        raise ValueError(
            "pass one of sweep=, runs= or experiment_name= (or none: latest experiment)"
        )
    client = connect(str(cfg.logger.tracking_uri))
    hint = "list runs with `make ui` or pass experiment_name="  # an unknown run id
    command = "python -m artclf.report " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if cfg.get("table"):  # a markdown table for a README, of one or several experiments
        from omegaconf import OmegaConf

        from artclf.reporting.tables import write_table

        names = cfg.experiment_name
        names = list(names) if OmegaConf.is_list(names) else [names]
        selections = [or_user_error(hint, select_runs, client, n, cfg.sweep, runs) for n in names]
        return write_table(client, [r for s in selections for r in s.runs], cfg, command.strip())
    selection = or_user_error(hint, select_runs, client, cfg.experiment_name, cfg.sweep, runs)
    return write_report(client, selection, Path(cfg.output_dir), command.strip())


def show(result) -> None:
    """The leaderboard's key columns (``leaderboard.headline``); the CSV and the HTML's
    details table have every column."""
    from artclf.reporting.leaderboard import headline
    from artclf.reporting.terminal import print_table

    print_table(headline(result.table), f"{result.title}: best first by {result.metric}")
    print(f"report: {result.html}\nleaderboard: {result.csv}")


@hydra.main(version_base="1.3", config_path="conf", config_name="report")
def main(cfg: DictConfig) -> None:
    result = run_or_exit(report, cfg)
    if isinstance(result, str):  # a markdown table
        print(result)
    else:
        show(result)


if __name__ == "__main__":
    main()
