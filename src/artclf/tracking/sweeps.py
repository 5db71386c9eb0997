"""A multirun's specification and the names it gives its jobs: ``SweepSummary``
(``artclf.reporting.sweep_summary``) writes the sweep as typed beside the jobs
(``sweep_spec.yaml``) at its start; each job reads it back to name its run after its swept
values (``lr=0.001,model=resnet18_32``)."""

from __future__ import annotations

from pathlib import Path

import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig

SPEC_FILE = "sweep_spec.yaml"
PARENT_ID_FILE = ".mlflow_parent_run_id"


# ---------------------------------------------------------------- specification and names


def sweep_spec(config: DictConfig) -> list[str]:
    """The sweep as typed: the command line's overrides plus the sweeper's search space."""
    spec = [str(o) for o in config.hydra.overrides.task]
    params = config.hydra.sweeper.get("params") or {}
    return spec + [f"{key}={value}" for key, value in params.items()]


def read_spec(sweep_dir: Path) -> list[str]:
    """The specification a ``SweepSummary`` wrote for this sweep ([] when none did)."""
    file = Path(sweep_dir) / SPEC_FILE
    return list(yaml.safe_load(file.read_text()) or []) if file.is_file() else []


def swept_keys(spec: list[str]) -> list[str]:
    """Keys (``optim.lr``) and groups (``model``) whose value varies across the sweep."""
    parsed = OverridesParser.create().parse_overrides(spec)
    return [o.key_or_group for o in parsed if o.is_sweep_override()]


def _short_value(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    return value if number.is_integer() and "." not in value else f"{number:.3g}"


def child_name(job_overrides: list[str], swept: list[str]) -> str:
    """``lr=0.001,model=resnet18_32``: this job's value of every swept key, by its last part."""
    values = dict(o.lstrip("+~").split("=", 1) for o in job_overrides if "=" in o)
    parts = [f"{key.split('.')[-1]}={_short_value(values[key])}" for key in swept if key in values]
    return ",".join(parts)


def sweep_child_name(hydra: HydraConfig) -> str:
    """This multirun job's name from the swept values ("" when the spec is unknown)."""
    spec = read_spec(Path(hydra.sweep.dir))
    return child_name(list(hydra.overrides.task), swept_keys(spec)) if spec else ""
