"""Grad-CAM of the Baroque <-> Rococo errors before and after: every test image of the
sample that either checkpoint confuses between the two, one row each, the first checkpoint's
map and answer on the left, the second's on the right (each map of the class it predicted).

    python experiments/wikiart_sample_study/gradcam_pairs.py BEFORE.ckpt AFTER.ckpt out.jpg

Both checkpoints must score the same test split (the sample's, seed 42: `wikiart_sample_best`
and `wikiart_best` do); each reads the images at its own size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from artclf.data.spec import DataSpec
from artclf.evaluation.explanations import attribution_maps
from artclf.evaluation.figures import image_grid_figure
from artclf.evaluation.selection import split_records
from artclf.inference.classifier import load_module, predict_probabilities, read_as_trained

PAIR = ("Baroque", "Rococo")
SHOWN = 224  # pixels per panel


def answers(ckpt: str, paths: list[Path]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The checkpoint's classes, and per image its predicted index, confidence and Grad-CAM
    map of that class, resized to ``SHOWN``."""
    module = load_module(ckpt)
    task = next(iter(module.tasks))
    _, images = read_as_trained(module, paths)
    confidence, predicted = predict_probabilities(module, images)[task].max(dim=1)
    maps = attribution_maps(module, images, predicted.numpy(), task=task)
    resized = np.stack([np.asarray(Image.fromarray(m).resize((SHOWN, SHOWN))) for m in maps])
    return module.tasks[task], predicted.numpy(), confidence.numpy(), resized


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()

    reference = load_module(args.before)
    table = split_records(DataSpec.from_config(reference.hparams["data"]), "test", reference.tasks)
    classes = next(iter(reference.tasks.values()))
    paths = [Path(p) for p in table["path"]]
    truth = table.iloc[:, 1].to_numpy()
    before, after = answers(args.before, paths), answers(args.after, paths)
    if before[0] != after[0]:
        raise SystemExit(f"error: the two checkpoints' classes differ: {before[0]} {after[0]}")
    pair = [classes.index(name) for name in PAIR]

    def confused(predicted: np.ndarray) -> np.ndarray:
        return np.isin(truth, pair) & np.isin(predicted, pair) & (predicted != truth)

    rows = np.flatnonzero(confused(before[1]) | confused(after[1]))
    shown = np.stack(
        [np.asarray(Image.open(paths[i]).convert("RGB").resize((SHOWN, SHOWN))) for i in rows]
    )
    images, titles, maps = [], [], []
    for k, i in enumerate(rows):
        for name, (_, predicted, confidence, heat) in (("before", before), ("after", after)):
            mark = "✓" if predicted[i] == truth[i] else "✗"
            titles.append(
                f"{name} {mark} true {classes[truth[i]]}\n"
                f"pred {classes[predicted[i]]} {confidence[i]:.2f}"
            )
            images.append(shown[k])
            maps.append(heat[i])
    errors = [int(confused(answer[1]).sum()) for answer in (before, after)]
    figure = image_grid_figure(
        np.stack(images),
        titles,
        maps,
        columns=4,
        title=f"{PAIR[0]} <-> {PAIR[1]} errors: {errors[0]} before, {errors[1]} after "
        f"({len(rows)} test images, 2 per image)",
    )
    figure.savefig(args.out, dpi=80)
    plt.close(figure)
    print(f"{len(rows)} images; errors before {errors[0]}, after {errors[1]}; wrote {args.out}")


if __name__ == "__main__":
    main()
