"""``make bench`` (``python -m benchmarks.bench``): throughput beside a baseline measured in the
same process, so the ratio holds on a noisy shared machine. Prints a table, writes JSON.

Rows: the input pipeline (model-ready batches from our datamodule) against ImageFolder + PIL;
our Lightning training loop against a bare PyTorch loop on the same model and batches;
training end to end (real files, our datamodule and module) against the same model fed one
resident batch, the compute ceiling;
inference precision/layout variants; batched Grad-CAM against one image per call; Gatys
style transfer on Lite0 against VGG19 taps; AdaIN against Gatys, per image; the web app's
per-image latency (ms, lower is better) against predict's bare work on the same image;
training beside CPU hogs with artclf's thread policy against torch's defaults
(``--only contention`` runs just that); a registered classifier served over HTTP against
in-process ``rank``, with recording and shadow scoring as ratios (``--only serving``);
``experiment=wikiart_best``'s fine-tune with its frozen layers run as in training, as
inference and from cached views, on real paintings, with the preset's projected wall time
(``--only finetune``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from artclf.runtime.memory import keep_freed_memory
from benchmarks.common import Row, report
from benchmarks.finetune import finetune_rows
from benchmarks.inference import app_latency_rows, gradcam_row, inference_row
from benchmarks.input_pipeline import image_roots, input_pipeline_rows
from benchmarks.serving import serving_rows
from benchmarks.style import adain_row, style_transfer_row
from benchmarks.training import contention_rows, end_to_end_row, training_loop_row


def run(seconds: float, quick: bool, roots: dict[str, Path]) -> list[Row]:
    root = next(iter(roots.values()))
    if quick:
        return [
            *input_pipeline_rows(roots, seconds, (32,)),
            training_loop_row("simple_cnn", 32, epochs=2),
            end_to_end_row(root, "simple_cnn", 32),
            inference_row("resnet18", 64, seconds),
            gradcam_row("resnet18", 64, seconds),
        ]
    # The GPU takes the studies' size; the CPU a size it trains in seconds.
    size = 224 if torch.cuda.is_available() else 64
    return [
        *input_pipeline_rows(roots, seconds, (32, 224)),
        training_loop_row("simple_cnn", 32, epochs=10),
        training_loop_row("resnet18", 64, epochs=2),
        end_to_end_row(root, "resnet18", size, epochs=2 if size == 224 else 1),
        inference_row("resnet18", 224, seconds),
        gradcam_row("resnet18", 224, seconds),
        style_transfer_row(256, steps=20),
        adain_row(256, steps=200, seconds=seconds),
        *contention_rows(hogs=2, seconds=seconds),
        *app_latency_rows("resnet18", 224),
        *serving_rows("resnet18", 224, seconds),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument(
        "--out", type=Path, default=Path("bench_results"), help="folder for bench.json"
    )
    parser.add_argument("--images", type=Path, help="class folders of images for the input rows")
    parser.add_argument(
        "--only",
        choices=["contention", "serving", "finetune"],
        help="run only these rows (contention: beside 2 hogs; serving: over HTTP; finetune: "
        "wikiart_best's frozen layers three ways)",
    )
    args = parser.parse_args()
    keep_freed_memory()  # as every artclf command does, for ours and the baselines alike
    if args.only == "contention":
        rows = contention_rows(hogs=2, seconds=args.seconds)
    elif args.only == "serving":
        rows = serving_rows("resnet18", 224, args.seconds)
    elif args.only == "finetune":
        rows = finetune_rows(seconds=args.seconds)
    else:
        rows = run(args.seconds, args.quick, image_roots(args.images))
    report(rows, args.out)


if __name__ == "__main__":
    main()
