"""``python -m artclf.registry action=list|register|plan|compare|promote|rollback``: the MLflow
Model Registry from the command line — which versions exist, registering a finished run (the
version tags training writes), how many labelled images a comparison needs, is the challenger
better than the champion, moving ``@champion`` only
when it is (``force=true`` overrides; a model with no champion yet gets its first), and moving
it back to the previous champion. See ``conf/registry.yaml``."""

from __future__ import annotations

import json
import sys

import hydra
from omegaconf import DictConfig

from artclf.runtime.cli import run_or_exit

ACTIONS = ("list", "register", "plan", "compare", "promote", "rollback")


def run(cfg: DictConfig) -> None:
    import mlflow

    from artclf.evaluation import comparison
    from artclf.reporting.registry_tables import show_comparison, show_versions
    from artclf.tracking.registry import list_versions

    if cfg.action not in ACTIONS or cfg.output not in ("table", "json"):
        raise ValueError(
            f"action={cfg.action}, output={cfg.output}; valid: action={'|'.join(ACTIONS)}, "
            "output=table|json"
        )
    mlflow.set_tracking_uri(str(cfg.logger.tracking_uri))
    if cfg.action == "list":
        return show_versions(list_versions(cfg.get("name")), str(cfg.output))
    if cfg.action == "rollback":
        return rollback(cfg)
    if cfg.action == "register":
        return register(cfg)
    if cfg.action == "plan":
        return plan(cfg)
    if cfg.action == "promote" and first_champion(cfg):
        return None
    result = comparison.compare(cfg)
    run_id = comparison.log_comparison(cfg, result)
    reason = comparison.promote(cfg, result) if cfg.action == "promote" else None
    if cfg.output == "json":
        json.dump({**result.to_dict(), "run_id": run_id, "promoted": reason}, sys.stdout, indent=2)
        return print()
    show_comparison(result)
    if cfg.action == "promote":
        print(f"promoted v{result.candidate.version} to @champion" if reason else "not promoted")


def register(cfg: DictConfig) -> None:
    """``run=<run id> [name=…]``: a finished run as a new version (``register_finished``)."""
    from artclf.tracking.registry import register_finished

    if not cfg.get("run"):
        raise ValueError("action=register needs run=<run id>; the MLflow UI or `report` shows ids")
    name, version, alias = register_finished(str(cfg.run), cfg.get("name"))
    print(f"registered {name} v{version}" + (f" as @{alias}" if alias else ""))


def plan(cfg: DictConfig) -> None:
    """The ``sample_size`` to fix before a comparison (``mcnemar_sample_size``)."""
    from artclf.evaluation.comparison import mcnemar_sample_size
    from artclf.reporting.registry_tables import show_plan

    plan = dict(cfg.plan)
    gain, discordant, power = (float(plan[k]) for k in ("gain", "discordant", "power"))
    size = mcnemar_sample_size(gain, discordant, float(cfg.alpha), power)
    show_plan(size, plan, float(cfg.alpha), str(cfg.output))


def first_champion(cfg: DictConfig) -> bool:
    """``promote`` on a model with no ``@champion`` yet makes the candidate its first."""
    from artclf.tracking.registry import CHAMPION, promote_first

    version = promote_first(str(cfg.name), str(cfg.candidate)) if cfg.get("name") else None
    if version is not None:
        print(f"promoted v{version} to @{CHAMPION} (the first: {cfg.name} had no champion)")
    return version is not None


def rollback(cfg: DictConfig) -> None:
    """Move ``@champion`` of ``name`` back to the champion before it (the registry's history)."""
    from artclf.tracking.registry import CHAMPION, rollback_champion

    if not cfg.get("name"):
        raise ValueError("action=rollback needs name=<registered model>; action=list shows them")
    version = rollback_champion(str(cfg.name))
    if cfg.output == "json":
        return print(json.dumps({"name": cfg.name, CHAMPION: version}))
    print(f"rolled back {cfg.name}@{CHAMPION} to v{version}")


@hydra.main(version_base="1.3", config_path="conf", config_name="registry")
def main(cfg: DictConfig) -> None:
    run_or_exit(run, cfg)


if __name__ == "__main__":
    main()
