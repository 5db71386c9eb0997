"""``python -m artclf.registry action=list|register|compare|promote|rollback``: the MLflow Model
Registry from the command line — which versions exist, registering a finished run (the version
tags training writes), is the challenger better than the champion, moving ``@champion`` only
when it is (``force=true`` overrides; a model with no champion yet gets its first), and moving
it back to the previous champion. See ``conf/registry.yaml``."""

from __future__ import annotations

import json
import sys

import hydra
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from artclf.runtime.cli import run_or_exit

ACTIONS = ("list", "register", "compare", "promote", "rollback")
SHOWN_METRICS = ("test/acc", "test/macro_f1")  # output=json lists every metric


def run(cfg: DictConfig) -> None:
    from artclf.evaluation import comparison
    from artclf.tracking.registry import list_versions

    if cfg.action not in ACTIONS or cfg.output not in ("table", "json"):
        raise ValueError(
            f"action={cfg.action}, output={cfg.output}; valid: action={'|'.join(ACTIONS)}, "
            "output=table|json"
        )
    if cfg.action == "list":
        return show_versions(list_versions(cfg.get("name")), str(cfg.output))
    if cfg.action == "rollback":
        return rollback(cfg)
    if cfg.action == "register":
        return register(cfg)
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
    """``run=<run id> [name=…]``: a finished run as a new version, tagged as training tags the
    versions it registers (test metrics, data fingerprint); ``@champion`` if the model has
    none, else ``@challenger``. Forgetting ``logger.register=true`` costs no retraining."""
    import mlflow

    from artclf.tracking.queries import or_user_error
    from artclf.tracking.registry import register_trained, registered_name_of, registry_client

    if not cfg.get("run"):
        raise ValueError("action=register needs run=<run id>; the MLflow UI or `report` shows ids")
    mlflow.set_tracking_uri(str(cfg.logger.tracking_uri))
    hint = "pass the id of a finished training run (the MLflow UI's Run ID)"
    run_id = str(cfg.run)
    name = cfg.get("name") or or_user_error(hint, registered_name_of, run_id, registry_client())
    version = or_user_error(hint, register_trained, run_id, str(name))
    aliases = registry_client().get_registered_model(str(name)).aliases
    alias = next((a for a, v in aliases.items() if str(v) == str(version.version)), None)
    print(f"registered {name} v{version.version}" + (f" as @{alias}" if alias else ""))


def first_champion(cfg: DictConfig) -> bool:
    """A model with no ``@champion`` yet: ``promote`` makes the candidate its first (there is
    nothing to compare with); True when it did."""
    import mlflow

    from artclf.tracking.registry import CHAMPION, get_version, registry_client, set_champion

    if not cfg.get("name"):
        return False
    mlflow.set_tracking_uri(str(cfg.logger.tracking_uri))
    client = registry_client()
    if CHAMPION in client.get_registered_model(str(cfg.name)).aliases:
        return False
    version = get_version(str(cfg.name), str(cfg.candidate), client).version
    set_champion(str(cfg.name), version, "First champion: nothing to compare with", expected=None)
    print(f"promoted v{version} to @{CHAMPION} (the first: {cfg.name} had no champion)")
    return True


def rollback(cfg: DictConfig) -> None:
    """Move ``@champion`` of ``name`` back to the champion before it (the registry's history)."""
    import mlflow

    from artclf.tracking.registry import CHAMPION, rollback_champion

    if not cfg.get("name"):
        raise ValueError("action=rollback needs name=<registered model>; action=list shows them")
    mlflow.set_tracking_uri(str(cfg.logger.tracking_uri))
    version = rollback_champion(str(cfg.name))
    if cfg.output == "json":
        return print(json.dumps({"name": cfg.name, CHAMPION: version}))
    print(f"rolled back {cfg.name}@{CHAMPION} to v{version}")


def show_versions(rows: list[dict], output: str) -> None:
    """One line per version (``reporting.terminal``: plain text in a pipe or a narrow terminal)."""
    import pandas as pd

    from artclf.reporting.terminal import print_table

    if output == "json":
        return print(json.dumps(rows, indent=2))
    if not rows:
        return print("no registered models; train with logger.register=true")
    metrics = [m for m in SHOWN_METRICS if any(m in r["metrics"] for r in rows)]
    table = pd.DataFrame(
        {
            "name": r["name"],
            "version": r["version"],
            "aliases": " ".join(f"@{a}" for a in r["aliases"]),
            "run": (r["run_id"] or "")[:8],
            "data": r["data"] or "",
            **{m: r["metrics"].get(m, float("nan")) for m in metrics},
        }
        for r in rows
    )
    print_table(table, "registered model versions")


def show_comparison(result) -> None:
    table = Table(title=f"{result.candidate.name}: candidate vs champion ({result.split})")
    for column in ["metric", result.champion.label, result.candidate.label, "delta"]:
        table.add_column(column, justify="left" if column == "metric" else "right")
    for metric, value in result.champion.metrics.items():
        other = result.candidate.metrics[metric]
        table.add_row(metric, f"{value:.4f}", f"{other:.4f}", f"{other - value:+.4f}")
    Console().print(table)
    classes = Table(title="per-class recall")
    for column in ["class", "champion", "candidate", "delta", "images"]:
        classes.add_column(column, justify="left" if column == "class" else "right")
    for _, row in result.per_class_deltas().iterrows():
        cells = [f"{row[k]:.3f}" for k in ("champion_recall", "candidate_recall")]
        classes.add_row(row["class"], *cells, f"{row['delta']:+.3f}", str(row["support"]))
    Console().print(classes)
    print(result.verdict())


@hydra.main(version_base="1.3", config_path="conf", config_name="registry")
def main(cfg: DictConfig) -> None:
    run_or_exit(run, cfg)


if __name__ == "__main__":
    main()
