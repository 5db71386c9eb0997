"""Per-class test recall of a five-fold CV, mean ± sample sd over the folds, read from the
store: each fold's ``reports/per_class_report.csv`` (written by every classification run).
The ablation table has accuracy and macro-F1; this is the per-class view beside it.

    python experiments/wikiart_sample_study/fold_recall.py sqlite:////work/study/cv.db \
        artclf-wikiart-study wikiart_best

Prints a markdown table (one row per class: recall and F1, mean ± sd, and the images per fold).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from artclf.tracking.queries import connect, copy_artifact

REPORT = "reports/per_class_report.csv"


def fold_reports(uri: str, experiment: str, preset: str) -> pd.DataFrame:
    """Every finished fold run of ``preset`` (``data.cv.folds`` set) in ``experiment``: its
    per-class report rows, with the fold number."""
    client = connect(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise SystemExit(f"{uri} has no experiment {experiment!r}")
    runs = client.search_runs(
        [found.experiment_id],
        f"tags.`choice.experiment` = '{preset}' and attributes.status = 'FINISHED'",
    )
    runs = [r for r in runs if r.data.params.get("data.cv.folds") not in (None, "None")]
    if not runs:
        raise SystemExit(f"no finished CV run of experiment={preset} in {experiment!r}")
    tables = []
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "report.csv"
        for run in runs:
            if not copy_artifact(client, run.info.run_id, REPORT, target):
                raise SystemExit(f"run {run.info.run_id} has no {REPORT}")
            table = pd.read_csv(target)
            tables.append(table.assign(fold=int(run.data.params["data.cv.fold"])))
    return pd.concat(tables, ignore_index=True)


def markdown(reports: pd.DataFrame) -> str:
    """One row per class: recall and F1 as mean ± sd over the folds, and the test images."""
    by_class = reports.groupby("class", sort=False)
    lines = [
        f"| class ({reports['fold'].nunique()} folds) | test recall | test F1 | test images |",
        "|---|---|---|---|",
    ]
    for name, rows in by_class:
        recall, f1 = rows["recall"] * 100, rows["f1"] * 100
        lines.append(
            f"| {name} | {recall.mean():.1f} ± {recall.std():.1f} % "
            f"(min {recall.min():.1f}) | {f1.mean():.1f} ± {f1.std():.1f} % "
            f"| {int(rows['support'].iloc[0])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tracking_uri")
    parser.add_argument("experiment", help="the MLflow experiment the folds logged to")
    parser.add_argument("preset", help="the experiment= preset of the folds")
    args = parser.parse_args()
    print(markdown(fold_reports(args.tracking_uri, args.experiment, args.preset)))


if __name__ == "__main__":
    main()
