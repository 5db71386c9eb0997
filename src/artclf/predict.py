"""``python -m artclf.predict ckpt_path=... input=IMAGE_OR_DIR [top_k=5] [output=json]``: the
top-k classes with probabilities per image, as a table for people or JSON for machines.

Any checkpoint training wrote works: the class names and the model config travel inside it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import hydra
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from artclf.inference.classifier import image_paths, load_module, rank, read_as_trained
from artclf.runtime.cli import run_or_exit
from artclf.tracking.sources import resolve_ckpt_option

OUTPUTS = ("table", "json")


def predict(cfg: DictConfig) -> list[dict[str, Any]]:
    """``[{"path": ..., "predictions": {task: [{"label", "probability"}, ...]}}]``, each task
    named after the label column it was trained on (``style``, ``artist``…)."""
    if cfg.output not in OUTPUTS:
        raise ValueError(f"output={cfg.output!r}; valid choices: {', '.join(OUTPUTS)}")
    if int(cfg.top_k) < 1:
        raise ValueError(f"top_k={cfg.top_k}; must be at least 1")
    resolve_ckpt_option(cfg)
    module = load_module(cfg.ckpt_path)
    paths, images = read_as_trained(module, image_paths(cfg.input), cfg.get("resize"))
    ranked = rank(module, images, int(cfg.top_k), int(cfg.batch_size), cfg.get("tta"))
    return [
        {"path": str(path), "predictions": per_task}
        for path, per_task in zip(paths, ranked, strict=True)
    ]


def render(results: list[dict[str, Any]], output: str) -> None:
    if output == "json":
        json.dump(results, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    several = len(results[0]["predictions"]) > 1  # one task needs no task column
    table = Table(title="predictions")
    for column in ["image", *(["task"] if several else []), "rank", "label", "probability"]:
        table.add_column(column, justify="right" if column in ("rank", "probability") else "left")
    for result in results:
        for task, ranked in result["predictions"].items():
            for place, item in enumerate(ranked, 1):
                name = result["path"] if place == 1 else ""
                cells = [str(place), item["label"], f"{item['probability']:.3f}"]
                table.add_row(name, *([task] if several else []), *cells)
    console = Console()
    if not console.is_terminal:  # piped or redirected: whole file names, no wrapping
        console = Console(width=100_000)
    console.print(table)


@hydra.main(version_base="1.3", config_path="conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    render(run_or_exit(predict, cfg), str(cfg.output))


if __name__ == "__main__":
    main()
