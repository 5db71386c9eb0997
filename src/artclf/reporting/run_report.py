"""A report of a set of runs (a sweep, an experiment, chosen ids) that a person can look at:
the leaderboard as CSV and markdown, the figures as PNGs (the ranking metric against each
choice or param the runs varied, learning curves of every run, the best run's confusion
matrix) and one self-contained HTML page holding all of it (PNGs embedded as base64, no
external files or CDN). The page and the markdown show the leaderboard's key columns; the
page's details table and the CSV hold every column."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from artclf.reporting.leaderboard import (
    cell,
    details_columns,
    headline,
    leaderboard,
    numeric_columns,
    shown_name,
    to_markdown,
    varied_columns,
)
from artclf.tracking.artifacts import log_files
from artclf.tracking.queries import Client, Run, copy_artifact, metric_values
from artclf.tracking.selection import Selection

CURVES = ("val/acc", "train/loss")
CONFUSION_ARTIFACT = "reports/confusion_matrix.png"


@dataclass
class Report:
    """What ``write_report`` wrote, by kind; ``metric`` is the column the runs are ranked by."""

    table: pd.DataFrame
    metric: str
    folder: Path
    title: str
    figures: dict[str, Path] = field(default_factory=dict)

    @property
    def html(self) -> Path:
        return self.folder / "report.html"

    @property
    def csv(self) -> Path:
        return self.folder / "leaderboard.csv"


def metric_vs_params_figure(table: pd.DataFrame, metric: str, params: list[str]) -> Figure:
    """The ranking metric against each varied choice or param: numbers on a (log, when they
    span over a decade) axis, other values as categories (``(unset)`` for a run without it)."""
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
            labels = table[param].map(lambda v: cell(v) or "(unset)")
            order = sorted(labels.unique())
            ax.scatter([order.index(v) for v in labels], table[metric], s=36)
            ax.set_xticks(range(len(order)), order, rotation=30, fontsize=8)
            ax.set_xlim(-0.5, len(order) - 0.5)  # the outer categories off the frame
        ax.set_xlabel(shown_name(param))
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{metric} against what the runs varied")
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
th{background:#f0f0f0;position:sticky;top:0}tbody tr:first-child td{background:#e8f5e9}
td{text-align:left;white-space:nowrap}td.num{text-align:right}figure{margin:1.5em 0}
img{max-width:min(100%,1100px);border:1px solid #eee}figcaption{color:#555;font-size:13px}
.scroll{overflow-x:auto}code{background:#f5f5f5;padding:1px 4px}"""


def html_table(table: pd.DataFrame) -> str:
    """The table's cells as ``cell`` writes them, numbers right-aligned, in a box that scrolls
    sideways when wide."""
    numeric = numeric_columns(table)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table)
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if c in numeric else ''}>{html.escape(cell(v))}</td>"
            for c, v in zip(table, row, strict=True)
        )
        + "</tr>"
        for row in table.itertuples(index=False)
    )
    table_html = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return f"<div class='scroll'>{table_html}</div>"


def page_title(title: str) -> str:
    """The selection's title without a doubled word: a sweep's parent run is already named
    ``sweep-<folder>``, so ``sweep sweep-<folder>`` reads ``sweep-<folder>``."""
    return re.sub(r"\b(\w+) (?=\1\b)", "", title)


def render_html(report: Report, command: str, captions: dict[str, str]) -> str:
    """The page: the key columns, the figures, then the details (every other column)."""
    table = report.table
    details = table[["run_name", *details_columns(table)]]
    figures = "".join(_embedded(path, captions[key]) for key, path in report.figures.items())
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(report.title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(report.title)}</h1>"
        f"<p>{len(table)} runs, best first by <b>{html.escape(report.metric)}</b>. "
        f"Made by <code>{html.escape(command)}</code>.</p>"
        f"<h2>Leaderboard</h2>{html_table(headline(table))}"
        f"<h2>Figures</h2>{figures}"
        "<h2>Details</h2><p>Every other column of <code>leaderboard.csv</code>, best first as "
        f"above.</p>{html_table(details)}</body></html>"
    )


def write_report(client: Client, selection: Selection, folder: Path, command: str) -> Report:
    """Leaderboard, figures and HTML of the selected runs into ``folder``; the HTML (and the
    rest) also logged to the sweep's parent run under ``report/`` when there is one."""
    folder.mkdir(parents=True, exist_ok=True)
    table = leaderboard(selection.runs)
    metric = table.attrs["ranked_by"]
    report = Report(table, metric, folder, page_title(selection.title))
    table.to_csv(report.csv, index=False)
    (folder / "leaderboard.md").write_text(to_markdown(headline(table)))
    captions = {}
    varied = varied_columns(table)
    if varied and metric in table:
        figure = metric_vs_params_figure(table, metric, varied)
        report.figures["params"] = _save(figure, folder / "metric_vs_params.png")
        captions["params"] = f"{metric} of each run against each choice or parameter they varied"
    figure = learning_curves_figure(client, selection.runs)
    report.figures["curves"] = _save(figure, folder / "learning_curves.png")
    captions["curves"] = "val/acc and train/loss per epoch, every run"
    best = table.iloc[0]
    target = folder / "best_confusion_matrix.png"
    if copy_artifact(client, best["run_id"], CONFUSION_ARTIFACT, target):
        report.figures["confusion"] = target
        captions["confusion"] = f"test confusion matrix of the best run, {best['run_name']}"
    report.html.write_text(render_html(report, command, captions))
    if selection.parent_id:
        written = [report.html, report.csv, folder / "leaderboard.md", *report.figures.values()]
        log_files(selection.parent_id, written, artifact_path="report")
    return report
