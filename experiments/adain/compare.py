"""AdaIN vs Gatys vs CycleGAN on the same content × style pairs, measured in one process.

    python experiments/adain/compare.py --content skimage:astronaut,... --style a.jpg,... \
        --gatys --adain base=CKPT --adain long=models:/adain@champion --cyclegan cg=CKPT \
        --work /work/adain_runs/compare [--out experiments/adain]

For each pair every method runs in turn (interleaved, so all of them see the same load on a
shared CPU) on the same content crop (longer side ``--size``, cut to a multiple of 4): Gatys
(LBFGS, the ``stylize`` defaults), each AdaIN decoder (one forward pass, alpha 1), each CycleGAN
generator (photo → painting: it ignores the style image). Every output is measured the same
way: Gram style loss against the pair's style and content loss on the Lite0 taps (the Gatys
losses), SSIM to the content. Results are kept per method and pair in ``WORK/results.json``: a
re-run only computes what is missing, so a method can be added later. Prints the Markdown
table, writes one JPEG grid per style beside this file (rows: content | style | methods...),
and logs the table and full-size grids to an MLflow run ``adain-vs-gatys``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor
from torchvision.transforms.v2 import functional as tvf
from torchvision.utils import make_grid

from artclf.style import TransferSettings, build_feature_taps, transfer
from artclf.style import image_io as io
from artclf.style.losses import content_loss, gram_matrix, style_loss
from artclf.style.metrics import ssim

METRICS = ("seconds_per_image", "style_loss", "content_loss", "ssim")
STRIDE = 4  # AdaIN at blocks.1 and the CycleGAN generator both need multiples of 4


def _named(spec: str) -> tuple[str, str]:
    label, _, source = spec.partition("=")
    if not source:
        raise argparse.ArgumentTypeError(f"expected LABEL=SOURCE, got {spec!r}")
    return label, source


def methods(args: argparse.Namespace) -> dict[str, Callable[[Tensor, Tensor], Tensor]]:
    """``{label: run(content, style) -> image}`` in the order they run for each pair."""
    from artclf.style.adain_model import load_adain
    from artclf.style.cyclegan import load_generator

    runs: dict[str, Callable[[Tensor, Tensor], Tensor]] = {}
    if args.gatys:
        taps = build_feature_taps("efficientnet_lite0", pretrained=True)
        settings = TransferSettings()  # the stylize defaults: LBFGS, 200 evaluations
        runs["gatys"] = lambda c, s: transfer(taps, c, s, settings).image
    for label, source in args.adain:
        net = load_adain(source)
        runs[f"adain-{label}"] = lambda c, s, net=net: net(c, [s]).clamp(0, 1)
    for label, source in args.cyclegan:
        generator = load_generator(source, "a2b")
        runs[f"cyclegan-{label}"] = lambda c, s, g=generator: g(c * 2 - 1).add(1).div(2).clamp(0, 1)
    return runs


def measure(taps, output: Tensor, content: Tensor, style: Tensor) -> dict[str, float]:
    """The Gatys losses on the Lite0 taps and SSIM to the content."""
    features, content_features = taps(output), taps(content)
    grams = {k: gram_matrix(v) for k, v in taps(style).items()}
    return {
        "style_loss": style_loss(features, grams, taps.style_layers).item(),
        "content_loss": content_loss(features, content_features, taps.content_layers).item(),
        "ssim": ssim(output, content),
    }


def load_pair(content_src: str, style_src: str, size: int) -> tuple[Tensor, Tensor]:
    content = io.read_image_tensor(content_src, size)
    h, w = content.shape[-2:]
    content = content[..., : h - h % STRIDE, : w - w % STRIDE]
    return content, io.fit_to(io.read_image_tensor(style_src), *content.shape[-2:])


def load_results(work: Path) -> dict[str, dict[str, dict]]:
    """``{method: {pair: row}}`` merged over the shards' ``results*.json`` in ``work``."""
    results: dict[str, dict[str, dict]] = {}
    for path in sorted(work.glob("results*.json")):
        for label, rows in json.loads(path.read_text()).items():
            results.setdefault(label, {}).update(rows)
    return results


def run_all(args: argparse.Namespace) -> dict[str, dict[str, dict]]:
    """Fill ``WORK/results[.K].json`` (``{method: {pair: row}}``) for every method and pair of
    this shard (``--shard K/N``: every N-th pair from the K-th; shards run as processes)."""
    index, count = map(int, args.shard.split("/"))
    path = args.work / ("results.json" if count == 1 else f"results.{index}of{count}.json")
    results: dict[str, dict[str, dict]] = json.loads(path.read_text()) if path.exists() else {}
    done = load_results(args.work)  # by any earlier shard layout
    runs = methods(args)
    metric_taps = build_feature_taps("efficientnet_lite0", pretrained=True)
    pairs = [(c, s) for c in args.content for s in args.style]
    for content_src, style_src in pairs[index::count]:
        name = f"{io.source_name(content_src)}__{io.source_name(style_src)}"
        content, style = load_pair(content_src, style_src, args.size)
        for label, run in runs.items():
            if name in done.get(label, {}) or name in results.get(label, {}):
                continue
            load = os.getloadavg()[0]
            started = time.perf_counter()
            with torch.set_grad_enabled(label == "gatys"):
                output = run(content, style).detach()
            seconds = time.perf_counter() - started
            with torch.no_grad():
                row = measure(metric_taps, output, content, style)
            row |= {"seconds_per_image": seconds, "load": load}
            row |= {"content": content_src, "style": style_src}
            io.save(output, args.work / label / f"{name}.png")
            results.setdefault(label, {})[name] = row
            path.write_text(json.dumps(results, indent=1))
            print(
                f"{label} {name}: {seconds:.2f} s, style {row['style_loss']:.4g}, "
                f"ssim {row['ssim']:.3f}, load {load:.1f}",
                flush=True,
            )
    return load_results(args.work)


def table(results: dict[str, dict[str, dict]]) -> str:
    """Means over the pairs every method finished."""
    common = sorted(set.intersection(*(set(rows) for rows in results.values())))
    lines = [
        f"| method | pairs | {' | '.join(METRICS)} | load (1-min avg) |",
        f"|---|---|{'---|' * (len(METRICS) + 1)}",
    ]
    for label, rows in results.items():
        means = [statistics.fmean(rows[n][m] for n in common) for m in (*METRICS, "load")]
        lines.append(f"| {label} | {len(common)} | {' | '.join(f'{v:.4g}' for v in means)} |")
    if "gatys" in results:
        gatys = statistics.fmean(results["gatys"][n]["seconds_per_image"] for n in common)
        for label, rows in results.items():
            if label != "gatys":
                other = statistics.fmean(rows[n]["seconds_per_image"] for n in common)
                lines.append(f"\n{label} is {gatys / other:,.0f}× faster per image than Gatys.")
    return "\n".join(lines)


def grids(work: Path, results: dict[str, dict[str, dict]], size: int) -> dict[str, Tensor]:
    """``{style name: grid}``: one row per content image, content | style | each method."""
    labels = list(results)
    first = results[labels[0]]
    common = sorted(set.intersection(*(set(rows) for rows in results.values())))
    cells: dict[str, list[Tensor]] = {}
    for name in common:
        row = first[name]
        images = [io.read_image_tensor(row["content"]), io.read_image_tensor(row["style"])]
        images += [io.read_image_tensor(str(work / label / f"{name}.png")) for label in labels]
        cells.setdefault(io.source_name(row["style"]), []).extend(
            io.fit_to(image, size, size) for image in images
        )
    return {
        style: make_grid(torch.cat(row), nrow=len(labels) + 2, padding=4, pad_value=1.0)
        for style, row in cells.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=lambda s: s.split(","), required=True)
    parser.add_argument("--style", type=lambda s: s.split(","), required=True)
    parser.add_argument("--size", type=int, default=256, help="longer side of the content")
    parser.add_argument("--gatys", action="store_true")
    parser.add_argument("--adain", type=_named, action="append", default=[], metavar="L=SRC")
    parser.add_argument("--cyclegan", type=_named, action="append", default=[], metavar="L=SRC")
    parser.add_argument("--work", type=Path, required=True, help="outputs and results.json")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="JPEG grids")
    parser.add_argument("--thumb", type=int, default=88, help="cell size of the JPEG grids")
    parser.add_argument("--shard", default="0/1", help="K/N: this process runs pairs K, K+N, …")
    parser.add_argument("--only-report", action="store_true", help="no new runs")
    args = parser.parse_args()
    torch.manual_seed(0)
    results = load_results(args.work) if args.only_report else run_all(args)
    text = table(results)
    print(text)
    (args.work / "table.md").write_text(text + "\n")
    import mlflow

    with mlflow.start_run(run_name="adain-vs-gatys"):
        for style, grid in grids(args.work, results, 256).items():
            full = io.save(grid, args.work / "side_by_side" / f"{style}.png")
            mlflow.log_artifact(str(full), artifact_path="side_by_side")
            small = tvf.resize(grid, [grid.shape[1] * args.thumb // 256], antialias=True)
            io.to_pil(small).save(args.out / f"side_by_side_{style}.jpg", quality=80)
        mlflow.log_text(text, "table.md")


if __name__ == "__main__":
    main()
