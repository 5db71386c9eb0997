"""`make bench` machinery: every row measured beside its baseline, JSON written."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.common import report
from benchmarks.inference import gradcam_row
from benchmarks.input_pipeline import input_pipeline_rows
from benchmarks.style import adain_row
from benchmarks.training import end_to_end_row, training_loop_row
from fixtures import write_image


def test_rows_measure_ours_and_baseline_and_report_writes_json(tmp_path: Path) -> None:
    for cls in ("a", "b"):
        for i in range(8):
            write_image(tmp_path / "images" / cls / f"{i}.jpg", seed=i)
    rows = input_pipeline_rows({"tiny": tmp_path / "images"}, 0.3, (16,))
    rows.append(training_loop_row("simple_cnn", 16, epochs=1, batch=8))
    rows.append(gradcam_row("simple_cnn", 16, 0.2, batch=2))
    rows.append(end_to_end_row(tmp_path / "images", "simple_cnn", 16, batch=4))
    rows.append(adain_row(32, steps=2, seconds=0.2))
    assert all(r.ours > 0 and r.baseline > 0 for r in rows)
    report(rows, tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert [r["name"] for r in saved["rows"]] == [r.name for r in rows]
    assert saved["rows"][0]["ratio"] == rows[0].ours / rows[0].baseline
