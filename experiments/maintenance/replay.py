"""Replay labelled paintings through a running ``python -m artclf.serve`` as clients would.

Paintings come from a WikiArt-layout folder (``<root>/wikiart/<Style>/*.jpg``), or with
``--split val`` from the validation split a registered model was trained with (``--model``:
images of its own distribution that its monitoring reference never saw). A seeded draw
splits them first into a *holdout* (copied to ``--holdout-out`` in the same layout, never sent:
the labelled images a comparison scores later) and a stream. ``--n`` stream images are sent as
``POST /predict`` uploads by ``--clients`` threads, either in the folder's own class mix or in
the mix of ``--like`` (another WikiArt folder: an unshifted stream). A ``--feedback`` share of
the answers gets ``POST /feedback`` with the true style. Prints what was sent and what the
client saw (accuracy against the folder labels, latency p50/p95) as one JSON object.

    python experiments/maintenance/replay.py --root $MORE --n 400 --feedback 0.5
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests


def paintings(root: Path) -> list[tuple[Path, str]]:
    """Every ``(file, style)`` under ``root/wikiart``, sorted."""
    base = root / "wikiart"
    if not base.is_dir():
        raise SystemExit(f"error: {base} is missing; pass a WikiArt-layout folder (--root)")
    return [(p, p.parent.name) for p in sorted(base.glob("*/*.jpg"))]


def split_of(model: str, split: str) -> list[tuple[Path, str]]:
    """The ``(file, class)`` pairs of ``split`` of the data ``model`` (models:/…) trained on."""
    from artclf.data.spec import DataSpec
    from artclf.inference.classifier import load_module

    module = load_module(model)
    spec = DataSpec.from_config(module.hparams["data"])
    table = spec.records().targets(split)
    classes = next(iter(module.tasks.values()))
    return [(Path(p), classes[t]) for p, t in zip(table.iloc[:, 0], table.iloc[:, 1], strict=True)]


def mix_of(root: Path) -> dict[str, float]:
    styles = [style for _, style in paintings(root)]
    names, counts = np.unique(styles, return_counts=True)
    return dict(zip(names.tolist(), (counts / counts.sum()).tolist(), strict=True))


def draw(pool: list[tuple[Path, str]], n: int, mix: dict[str, float] | None, rng) -> list:
    """``n`` of ``pool``: uniformly, or ``mix``'s share of each style (as far as it has)."""
    if mix is None:
        return [pool[i] for i in rng.permutation(len(pool))[:n]]
    picked = []
    for style, share in mix.items():
        mine = [item for item in pool if item[1] == style]
        take = min(len(mine), round(n * share))
        picked += [mine[i] for i in rng.permutation(len(mine))[:take]]
    return [picked[i] for i in rng.permutation(len(picked))]


def send(url: str, item: tuple[Path, str], client: int, feedback: bool) -> dict:
    path, style = item
    start = time.perf_counter()
    with path.open("rb") as handle:
        answer = requests.post(
            f"{url}/predict",
            files={"file": (path.name, handle, "image/jpeg")},
            headers={"X-Client-Id": f"replay-{client}"},
            timeout=120,
        )
    latency = time.perf_counter() - start
    answer.raise_for_status()
    body = answer.json()
    (ranked,) = body["predictions"][0].values()
    if feedback:
        given = {"request_id": body["request_id"], "label": style}
        requests.post(f"{url}/feedback", json=given, timeout=60).raise_for_status()
    return {"right": ranked[0]["label"] == style, "latency": latency, "version": body["version"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--root", type=Path, help="WikiArt-layout folder")
    parser.add_argument("--split", help="val|test: that split of --model's data instead")
    parser.add_argument("--model", help="models:/NAME@ALIAS whose --split is sent")
    parser.add_argument("--n", type=int, required=True, help="stream images to send")
    parser.add_argument("--skip", type=int, default=0, help="stream images drawn before these")
    parser.add_argument("--like", type=Path, help="send in this folder's class mix")
    parser.add_argument("--feedback", type=float, default=0.0, help="share given feedback")
    parser.add_argument("--holdout", type=int, default=0, help="images kept out of every stream")
    parser.add_argument("--holdout-out", type=Path, help="where the holdout is copied")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    pool = split_of(args.model, args.split) if args.split else paintings(args.root)
    order = rng.permutation(len(pool))
    holdout = [pool[i] for i in order[: args.holdout]]
    stream = [pool[i] for i in order[args.holdout :]]
    if args.holdout_out is not None:
        for path, style in holdout:
            target = args.holdout_out / "wikiart" / style / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    mix = mix_of(args.like) if args.like else None
    picked = draw(stream, args.skip + args.n, mix, np.random.default_rng(args.seed + 1))
    picked = picked[args.skip :]
    asked = rng.random(len(picked)) < args.feedback
    with ThreadPoolExecutor(args.clients) as pool_:
        results = list(
            pool_.map(
                lambda i: send(args.url, picked[i], i % args.clients, bool(asked[i])),
                range(len(picked)),
            )
        )
    latency = np.array([r["latency"] for r in results]) * 1000
    styles, counts = np.unique([style for _, style in picked], return_counts=True)
    summary = {
        "sent": len(results),
        "feedback": int(asked.sum()),
        "mix": dict(zip(styles.tolist(), counts.tolist(), strict=True)),
        "accuracy": float(np.mean([r["right"] for r in results])),
        "latency_p50_ms": float(np.percentile(latency, 50)),
        "latency_p95_ms": float(np.percentile(latency, 95)),
        "versions": sorted({r["version"] for r in results}),
        "holdout": len(holdout),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
