"""How a verdict reads, in the terminal and in the HTML page: one line per figure with its
value, its sample size and whether it alarms (or why it is not judged)."""

from __future__ import annotations

import math

from artclf.monitoring.checks import ALARM_BELOW, Finding, Verdict

LABELS = {
    "chi2_p": "class mix, chi-square",
    "ks_p": "confidence, KS",
    "mmd_p": "embeddings, MMD",
    "ood_rate": "out of distribution",
    "accuracy": "accuracy (feedback)",
    "latency_p50_ms": "latency p50",
    "latency_p95_ms": "latency p95",
}


def value_text(name: str, value: float) -> str:
    if math.isnan(value):
        return "-"
    if name.endswith("_p"):
        return f"p={value:.3g}"
    if name.endswith("_ms"):
        return f"{value:.1f} ms"
    return f"{100 * value:.1f} %"


def status_text(finding: Finding) -> str:
    if finding.note:
        return finding.note
    if finding.threshold is None:
        return "no threshold"
    side = "<" if finding.name in ALARM_BELOW else ">"
    bound = value_text(finding.name, finding.threshold).removeprefix("p=")
    return f"ALARM ({side} {bound})" if finding.alarmed else f"ok (alarm {side} {bound})"


def heading(verdict: Verdict) -> str:
    """The version, its window and its reference, in one line."""
    window = verdict.window
    routes = ", ".join(f"{n} {route}" for route, n in sorted(window.routes.items()))
    span = f"{window.times.iloc[0]:%Y-%m-%d %H:%M} to {window.times.iloc[-1]:%Y-%m-%d %H:%M}"
    reference = verdict.reference
    held = (
        "no reference"
        if reference is None
        else f"reference: {reference.size} {reference.split} images"
    )
    return (
        f"{window.name} [{window.task}]: {window.size} predictions ({routes}), {span} UTC; {held}"
    )


def summary(verdicts: list[Verdict]) -> str:
    """The plain summary the command prints."""
    if not verdicts:
        return "no recorded predictions in the window; nothing to judge"
    lines = []
    for verdict in verdicts:
        lines.append(heading(verdict))
        for f in verdict.findings:
            value = value_text(f.name, f.value)
            lines.append(f"  {LABELS[f.name]:<24}{value:>12}  n={f.n:<6} {status_text(f)}")
    alarms = [f"{v.window.name} {f.name}" for v in verdicts for f in v.alarms]
    lines.append(f"ALARM: {', '.join(alarms)}" if alarms else "no alarm")
    return "\n".join(lines)
