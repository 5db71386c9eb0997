"""``python -m artclf.monitor [model=<registered name> [version=N]] [last=N | since=<ISO time>]
[until=<ISO time>] [thresholds.mmd_p=0.01 ...]``: judge the predictions a served model
recorded (``artclf.serving``) against the held-out reference its training run stored
(``artclf.monitoring``): print a summary, write ``monitoring.html``, log a run to the
``artclf-monitoring`` experiment, and exit 3 when a threshold is crossed (for cron or CI).
Options in ``conf/monitor.yaml``."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from artclf.runtime.cli import run_or_exit

#: The exit code of a crossed threshold (2 is a usage error, as for every command).
ALARM = 3


def model_option(argv: list[str]) -> list[str]:
    """``model=NAME`` as ``model_name=NAME``: Hydra reads a bare ``model=`` as the network's
    config group, which monitoring has none of."""
    return [f"model_name={a.removeprefix('model=')}" if a.startswith("model=") else a for a in argv]


@hydra.main(version_base="1.3", config_path="conf", config_name="monitor")
def main(cfg: DictConfig) -> None:
    from artclf.monitoring.run import monitor
    from artclf.monitoring.summary import summary
    from artclf.serving.reading import read_requests

    outcome = run_or_exit(monitor, cfg, read_requests)
    print(f"{summary(outcome.verdicts)}\nreport: {outcome.page}")
    if outcome.alarmed:
        sys.exit(ALARM)


if __name__ == "__main__":
    sys.argv[1:] = model_option(sys.argv[1:])
    main()
