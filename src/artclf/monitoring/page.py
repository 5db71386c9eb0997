"""The monitoring report as one self-contained HTML page (``monitoring.html``, its PNGs embedded
and also saved beside it): per version, the figures table and the figures."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import matplotlib.pyplot as plt

from artclf.monitoring.checks import Verdict
from artclf.monitoring.figures import figures
from artclf.monitoring.summary import LABELS, heading, status_text, value_text

PAGE = "monitoring.html"
STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px}
th{background:#f0f0f0}td.num{text-align:right}td.alarm{background:#fde0dc;font-weight:bold}
td.note{color:#777}figure{margin:1.5em 0}img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:13px}code{background:#f5f5f5;padding:1px 4px}"""


def findings_table(verdict: Verdict) -> str:
    rows = []
    for f in verdict.findings:
        kind = "alarm" if f.alarmed else "note" if f.note else ""
        rows.append(
            f"<tr><td>{html.escape(LABELS[f.name])}</td>"
            f"<td class=num>{html.escape(value_text(f.name, f.value))}</td>"
            f"<td class=num>{f.n}</td><td class='{kind}'>{html.escape(status_text(f))}</td></tr>"
        )
    head = "<tr><th>figure</th><th>value</th><th>n</th><th>status</th></tr>"
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def embedded(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def write_page(
    verdicts: list[Verdict], thresholds: dict[str, float], folder: Path, command: str
) -> list[Path]:
    """``monitoring.html`` and its PNGs in ``folder``; their paths, the page first."""
    folder.mkdir(parents=True, exist_ok=True)
    written, sections = [], []
    for verdict in verdicts:
        stem = re.sub(r"[^\w.-]", "_", f"{verdict.window.model}-v{verdict.window.version}")
        shown = []
        for kind, (figure, caption) in figures(verdict, thresholds).items():
            path = folder / f"{stem}-{kind}.png"
            figure.savefig(path, dpi=110)
            plt.close(figure)
            written.append(path)
            shown.append(embedded(path, caption))
        alarms = ", ".join(LABELS[f.name] for f in verdict.alarms) or "none"
        sections.append(
            f"<h2>{html.escape(verdict.window.name)}</h2>"
            f"<p>{html.escape(heading(verdict))}</p><p>Alarms: <b>{html.escape(alarms)}</b></p>"
            f"{findings_table(verdict)}{''.join(shown)}"
        )
    body = "".join(sections) or "<p>No recorded predictions in the window; nothing to judge.</p>"
    page = folder / PAGE
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>artclf monitoring</title>"
        f"<style>{STYLE}</style></head><body><h1>Monitoring</h1>"
        f"<p>Made by <code>{html.escape(command)}</code>.</p>{body}</body></html>"
    )
    return [page, *written]
