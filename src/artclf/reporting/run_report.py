"""A report of a set of runs (a sweep, an experiment, chosen ids) that a person can look at:
the leaderboard as CSV and markdown, the figures as PNGs (optimised metric against each swept
param, learning curves of every run, the best run's confusion matrix) and one self-contained
HTML page holding all of it (PNGs embedded as base64, no external files or CDN)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from artclf.reporting.leaderboard import leaderboard, objective, swept_params, to_markdown
from artclf.tracking.artifacts import log_files
from artclf.tracking.queries import Client, Run, copy_artifact, metric_values
from artclf.tracking.selection import Selection

CURVES = ("val/acc", "train/loss")
CONFUSION_ARTIFACT = "reports/confusion_matrix.png"


@dataclass
class Report:
    """What ``write_report`` wrote, by kind."""

    table: pd.DataFrame
    metric: str
    folder: Path
    figures: dict[str, Path] = field(default_factory=dict)

    @property
    def html(self) -> Path:
        return self.folder / "report.html"

    @property
    def csv(self) -> Path:
        return self.folder / "leaderboard.csv"


def metric_vs_params_figure(table: pd.DataFrame, metric: str, params: list[str]) -> Figure:
    """The optimised metric against each swept param: numbers on a (log, when they span over
    a decade) axis, other values as categories."""
    columns = min(len(params), 3)
    rows = -(-len(params) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[len(params) :]:
        ax.axis("off")
    for ax, param in zip(axes.flat, params, strict=False):
        values = pd.to_numeric(table[param], errors="coerce")
        if values.notna().all():
            ax.scatter(values, table[metric], s=36)
            if (values > 0).all() and values.max() / values.min() > 10:
                ax.set_xscale("log")
        else:
            labels = table[param].astype(str)
            order = sorted(labels.unique())
            ax.scatter([order.index(v) for v in labels], table[metric], s=36)
            ax.set_xticks(range(len(order)), order, rotation=30, fontsize=8)
        ax.set_xlabel(param)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{metric} against the swept parameters")
    return fig


def learning_curves_figure(client: Client, runs: list[Run]) -> Figure:
    """``val/acc`` and ``train/loss`` per epoch of every run, overlaid."""
    fig, axes = plt.subplots(1, len(CURVES), figsize=(11, 3.8), layout="constrained")
    for ax, key in zip(axes, CURVES, strict=True):
        for run in sorted(runs, key=lambda r: r.info.run_name or ""):
            values = metric_values(client, run.info.run_id, key)
            if values:
                epochs = range(1, len(values) + 1)
                ax.plot(epochs, values, marker="o", ms=3, label=run.info.run_name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize=7)
    fig.suptitle("learning curves")
    return fig


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _embedded(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px}
th{background:#f0f0f0;position:sticky;top:0}tr:nth-child(1) td{background:#e8f5e9}
td{text-align:right}td:first-child{text-align:left}figure{margin:1.5em 0}
img{max-width:min(100%,1100px);border:1px solid #eee}figcaption{color:#555;font-size:13px}
.scroll{overflow-x:auto}code{background:#f5f5f5;padding:1px 4px}"""


def render_html(report: Report, title: str, command: str, captions: dict[str, str]) -> str:
    shown = report.table.drop(columns=["run_id"], errors="ignore")
    table = shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)
    figures = "".join(_embedded(path, captions[key]) for key, path in report.figures.items())
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>{len(report.table)} runs, best first by <b>{html.escape(report.metric)}</b>. "
        f"Made by <code>{html.escape(command)}</code>.</p>"
        f"<h2>Leaderboard</h2><div class='scroll'>{table}</div><h2>Figures</h2>{figures}"
        "</body></html>"
    )


def write_report(client: Client, selection: Selection, folder: Path, command: str) -> Report:
    """Leaderboard, figures and HTML of the selected runs into ``folder``; the HTML (and the
    rest) also logged to the sweep's parent run under ``report/`` when there is one."""
    folder.mkdir(parents=True, exist_ok=True)
    table = leaderboard(selection.runs)
    metric, _ = objective(selection.runs)
    report = Report(table, metric, folder)
    table.to_csv(report.csv, index=False)
    (folder / "leaderboard.md").write_text(to_markdown(table))
    captions = {}
    params = [p for p in swept_params(selection.runs) if p in table]
    if params and metric in table:
        figure = metric_vs_params_figure(table, metric, params)
        report.figures["params"] = _save(figure, folder / "metric_vs_params.png")
        captions["params"] = f"{metric} of each run against each parameter the runs varied"
    figure = learning_curves_figure(client, selection.runs)
    report.figures["curves"] = _save(figure, folder / "learning_curves.png")
    captions["curves"] = "val/acc and train/loss per epoch, every run"
    best = table.iloc[0]
    target = folder / "best_confusion_matrix.png"
    if copy_artifact(client, best["run_id"], CONFUSION_ARTIFACT, target):
        report.figures["confusion"] = target
        captions["confusion"] = f"test confusion matrix of the best run, {best['run_name']}"
    report.html.write_text(render_html(report, selection.title, command, captions))
    if selection.parent_id:
        written = [report.html, report.csv, folder / "leaderboard.md", *report.figures.values()]
        log_files(selection.parent_id, written, artifact_path="report")
    return report
