"""Frozen-feature study: which bundled backbone, and which resize policy for non-square
inputs, before any fine-tuning. Pooled ImageNet features of each EfficientNet-Lite (at its
own input size), a logistic regression fitted on the train split (C picked on val), scored
on the test split and on the non-square variants of ``nonsquare.py`` under each policy.

    python experiments/wikiart_sample_study/probe.py $ARTCLF_REAL_DATA /tmp/nonsquare 0 1 2
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from artclf.data.images import read_square_rgb
from artclf.data.pipeline import label_records
from artclf.data.resize import RESIZE_POLICIES
from artclf.weights.pretrained import LITE0_MEAN, LITE0_STD, load_efficientnet_lite

SIZES = {0: 224, 1: 240, 2: 260}


@torch.inference_mode()
def features(model, paths: list[str], size: int, resize: str) -> np.ndarray:
    """Pooled features, averaged over the image and its mirror (flip TTA)."""
    mean, std = torch.tensor(LITE0_MEAN).view(1, 3, 1, 1), torch.tensor(LITE0_STD).view(1, 3, 1, 1)
    out = []
    for start in range(0, len(paths), 32):
        batch = np.stack([read_square_rgb(p, size, resize) for p in paths[start : start + 32]])
        x = (torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255 - mean) / std
        out.append(((model(x) + model(x.flip(-1))) / 2).numpy())
    return np.concatenate(out)


def fit(train_x, train_y, val_x, val_y):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_x)
    best = None
    for c in (0.01, 0.03, 0.1, 0.3, 1.0):
        clf = LogisticRegression(C=c, max_iter=3000).fit(scaler.transform(train_x), train_y)
        acc = clf.score(scaler.transform(val_x), val_y)
        if best is None or acc > best[0]:
            best = (acc, c, clf)
    return scaler, best


def main(root: str, nonsquare: str, *variants: str) -> None:
    torch.set_num_threads(2)
    records = label_records("wikiart", root, labels="style", seed=42)
    splits = {s: records.split(s) for s in ("train", "val", "test")}
    classes = records.classes
    results = {}
    for variant in map(int, variants):
        started = time.perf_counter()
        size = SIZES[variant]
        model = load_efficientnet_lite(variant, num_classes=0).eval()
        feats = {s: features(model, t["path"].tolist(), size, "crop") for s, t in splits.items()}
        ys = {s: t["target"].to_numpy() for s, t in splits.items()}
        scaler, (val_acc, c, clf) = fit(feats["train"], ys["train"], feats["val"], ys["val"])
        row = {
            "val": val_acc,
            "C": c,
            "test": clf.score(scaler.transform(feats["test"]), ys["test"]),
        }
        pred = clf.predict(scaler.transform(feats["test"]))
        confusion = np.zeros((len(classes), len(classes)), int)
        np.add.at(confusion, (ys["test"], pred), 1)
        row["confusion"] = confusion.tolist()
        for folder in sorted(Path(nonsquare).iterdir()):
            files = sorted((folder / "wikiart").glob("*/*.jpg"))
            y = np.array([classes.index(f.parent.name) for f in files])
            for policy in RESIZE_POLICIES:
                x = features(model, [str(f) for f in files], size, policy)
                row[f"{folder.name}/{policy}"] = clf.score(scaler.transform(x), y)
        row["seconds"] = round(time.perf_counter() - started)
        results[f"lite{variant}"] = row
        print(json.dumps({f"lite{variant}": row}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
