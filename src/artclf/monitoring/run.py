"""What ``python -m artclf.monitor`` does: read the window of recorded predictions, judge each
model version against the reference its training run stored, write the HTML page, log the
figures as metrics of a run in the ``artclf-monitoring`` experiment, and say whether any
threshold was crossed (the command then exits 3, for cron or CI)."""

from __future__ import annotations

import math
import shlex
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from artclf.monitoring.checks import Settings, Verdict, judge
from artclf.monitoring.page import write_page
from artclf.monitoring.records import Window, moment, windows
from artclf.monitoring.reference import Reference, stored_reference
from artclf.tracking.queries import Client, connect

#: ``read_requests(tracking_uri, model, version, since)``: the serving record's reader.
Reader = Callable[..., pd.DataFrame]


@dataclass(frozen=True)
class Outcome:
    verdicts: list[Verdict]
    page: Path
    run_id: str | None

    @property
    def alarmed(self) -> bool:
        return any(v.alarms for v in self.verdicts)


def monitor(cfg: DictConfig, read: Reader) -> Outcome:
    """Judge the window ``cfg`` describes (``conf/monitor.yaml``) of the records ``read``
    returns."""
    settings = Settings.from_config(cfg)
    since, until = moment(cfg.since, "since"), moment(cfg.until, "until")
    last = cfg.get("last")
    if last is not None and (not isinstance(last, int) or last < 1):
        raise ValueError(f"last={last}; the number of latest predictions per version, 1 or more")
    if cfg.version is not None and cfg.model_name is None:
        raise ValueError("version= needs model=<registered name>")
    if "tracking_uri" not in cfg.logger:
        raise ValueError(
            "logger=none leaves no store to read the records from; keep logger=mlflow and set "
            "logger.enabled=false not to log the monitoring run"
        )
    uri = str(cfg.logger.tracking_uri)
    client = connect(uri)
    records = read(uri, cfg.model_name, cfg.version, since)
    found = windows(records, cfg.task, until, last)
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        for window in found:
            reference, note = reference_for(client, window, Path(tmp))
            verdicts.append(judge(window, reference, settings, note))
    command = "python -m artclf.monitor " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    files = write_page(verdicts, settings.thresholds, Path(cfg.output_dir), command.strip())
    run_id = log_run(cfg, verdicts, files) if cfg.logger.enabled else None
    return Outcome(verdicts, files[0], run_id)


def reference_for(client: Client, window: Window, folder: Path) -> tuple[Reference | None, str]:
    """The reference the version's training run stored, or None and why there is none."""
    from artclf.tracking.registry import get_version

    try:
        version = get_version(window.model, window.version, client)
    except ValueError:
        return None, "no reference: the version is not in this store's registry"
    target = Path(tempfile.mkdtemp(dir=folder))
    reference = stored_reference(client, version.run_id, target) if version.run_id else None
    if reference is None:
        return None, "no reference: its run logged no monitoring/reference.npz; retrain it"
    return reference, ""


def log_run(cfg: DictConfig, verdicts: list[Verdict], files: list[Path]) -> str:
    """The figures as metrics (``<model>/v<version>/<figure>`` and ``..._n``; the drift of each
    segment as the steps of ``.../segments/<figure>``), the page and PNGs under ``report/``."""
    from artclf.tracking import start_run
    from artclf.tracking.artifacts import log_files, tag_run
    from artclf.tracking.metrics import log_history, log_metrics

    if not cfg.logger.run_name:
        name = f"monitor-{cfg.model_name or 'all'}" + (f"-v{cfg.version}" if cfg.version else "")
        cfg = OmegaConf.merge(cfg, {"logger": {"run_name": name}})
    with start_run(cfg) as run:
        run_id = run.info.run_id
        for verdict in verdicts:
            prefix = f"{verdict.window.model}/v{verdict.window.version}/"
            values = {}
            for f in verdict.findings:
                values[f"{prefix}{f.name}_n"] = f.n
                if not math.isnan(f.value):
                    values[f"{prefix}{f.name}"] = f.value
            log_metrics(run_id, values)
            history = verdict.segments.drop(columns="end").to_dict("records")
            log_history(run_id, history, prefix=f"{prefix}segments/")
        alarms = [f"{v.window.name} {f.name}" for v in verdicts for f in v.alarms]
        tag_run(
            run_id, {"artclf.alarm": str(bool(alarms)), "artclf.alarms": ", ".join(alarms) or "-"}
        )
        log_files(run_id, files, "report")
        return run_id
