"""Side by side: a Gatys and an AdaIN ``python -m artclf.stylize`` run over the same pairs.

    python experiments/adain/compare.py GATYS_RUN_DIR ADAIN_RUN_DIR [--out experiments/adain]

Joins the runs' ``pairs.json`` on the pair name, prints a Markdown table of the means over the
pairs both runs finished (seconds per image, Gram style loss and content loss on the Lite0
taps, SSIM to the content), and writes one grid per style — rows of content | style | Gatys |
AdaIN — as JPEG beside the README and as artifacts of an MLflow run (full size, PNG).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch
from torchvision.transforms.v2 import functional as tvf
from torchvision.utils import make_grid

from artclf.style import image_io as io

METRICS = ("seconds_per_image", "style_loss", "content_loss", "ssim")


def _pairs(run_dir: Path) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads((run_dir / "pairs.json").read_text())}


def table(gatys: dict[str, dict], adain: dict[str, dict]) -> str:
    common = sorted(set(gatys) & set(adain))
    lines = [
        f"| method | pairs | {' | '.join(METRICS)} |",
        f"|---|---|{'---|' * len(METRICS)}",
    ]
    for label, rows in (("Gatys (Lite0, LBFGS 200)", gatys), ("AdaIN (Lite0 decoder)", adain)):
        means = [statistics.fmean(rows[n][m] for n in common) for m in METRICS]
        lines.append(f"| {label} | {len(common)} | {' | '.join(f'{v:.4g}' for v in means)} |")
    speedup = statistics.fmean(gatys[n]["seconds_per_image"] for n in common) / statistics.fmean(
        adain[n]["seconds_per_image"] for n in common
    )
    lines.append(f"\nAdaIN is {speedup:,.0f}× faster per image on these {len(common)} pairs.")
    return "\n".join(lines)


def _square(image: torch.Tensor, size: int) -> torch.Tensor:
    return io.fit_to(image, size, size)


def grids(gatys_dir: Path, adain_dir: Path, names: list[str], pairs: dict[str, dict], size: int):
    """``{style name: (3, H, W) grid}``, one row per content image of that style."""
    by_style: dict[str, list[torch.Tensor]] = {}
    for name in names:
        row = pairs[name]
        images = [
            io.read_image_tensor(row["content"]),
            io.read_image_tensor(row["style"]),
            io.read_image_tensor(str(gatys_dir / f"{name}.png")),
            io.read_image_tensor(str(adain_dir / f"{name}.png")),
        ]
        by_style.setdefault(io.source_name(row["style"]), []).extend(
            _square(image, size) for image in images
        )
    return {style: _rows(cells) for style, cells in by_style.items()}


def _rows(cells: list[torch.Tensor]) -> torch.Tensor:
    """Four cells a row: content | style | Gatys | AdaIN."""
    return make_grid(torch.cat(cells), nrow=4, padding=4, pad_value=1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gatys", type=Path)
    parser.add_argument("adain", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--thumb", type=int, default=128, help="cell size of the JPEG grids")
    args = parser.parse_args()
    gatys, adain = _pairs(args.gatys), _pairs(args.adain)
    print(table(gatys, adain))
    common = sorted(set(gatys) & set(adain))
    import mlflow

    with mlflow.start_run(run_name="adain-vs-gatys"):
        for style, grid in grids(args.gatys, args.adain, common, gatys, 256).items():
            full = io.save(grid, args.gatys.parent / "side_by_side" / f"{style}.png")
            mlflow.log_artifact(str(full), artifact_path="side_by_side")
            small = tvf.resize(grid, [grid.shape[1] * args.thumb // 256], antialias=True)
            io.to_pil(small).save(args.out / f"side_by_side_{style}.jpg", quality=85)
        mlflow.log_text(table(gatys, adain), "table.md")


if __name__ == "__main__":
    main()
