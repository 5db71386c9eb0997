"""``python -m artclf.describe``: the report users run first on a new download."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from artclf.describe import describe, run
from conftest import TINY_SYNTHETIC
from fixtures import make_artgan, make_artstation

#: Images per style in the real sample, as its README lists them.
README_STYLES = {
    "Baroque": 356,
    "Impressionism": 349,
    "Pointillism": 153,
    "Rococo": 354,
    "Ukiyo_e": 339,
}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "artclf.describe", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def totals(report: dict) -> dict[str, int]:
    return {
        c: sum(report["counts"][s][c] for s in ("train", "val", "test")) for c in report["classes"]
    }


def test_json_is_alone_on_stdout_and_nothing_is_written(tmp_path: Path) -> None:
    expected = make_artgan(tmp_path / "dl")
    before = sorted(tmp_path.rglob("*"))
    done = cli("data=wikiart", "data.root=dl", "output=json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["classes"] == ["Art_Nouveau", "Baroque", "Impressionism"]
    assert {s: report["counts"][s] for s in ("train", "val")} == expected["style"]
    assert {r: report["skipped"][r] for r in expected["skipped"]} == expected["skipped"]
    assert sorted(tmp_path.rglob("*")) == before


def test_bad_root_is_one_line_on_stderr_and_exit_code_2(tmp_path: Path) -> None:
    done = cli("data=best_artworks", f"data.root={tmp_path / 'nowhere'}", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: best_artworks:") and "artists.csv" in done.stderr


def test_default_synthetic_dataset_is_generated_and_described(make_cfg) -> None:
    report = describe(make_cfg(*TINY_SYNTHETIC, config_name="describe"))
    assert len(report["classes"]) == 20
    assert sum(report["counts"]["test"].values()) > 0
    assert set(report["skipped"]) >= {"empty", "missing", "truncated", "unreadable"}


def test_table_shows_counts_weights_skips_and_warnings(
    make_cfg, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    make_artstation(tmp_path / "art")
    cfg = make_cfg("data=artstation", f"data.root={tmp_path / 'art'}", config_name="describe")
    report = run(cfg)
    out = capsys.readouterr().out
    assert set(report["class_weights"]) == set(report["classes"]) == {"anna-li", "bo-kim", "cy-dee"}
    assert "weight" in out and "anna-li" in out
    assert "skipped: not_image 2, empty 1, truncated 1" in out
    assert "warning: artstation: class_weights.csv lists 'gone-artist'" in out


def test_json_stays_strict_json_when_a_csv_weight_is_blank(
    make_cfg, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    make_artstation(tmp_path / "art", weights_csv=False)
    (tmp_path / "art" / "class_weights.csv").write_text(
        "artist,n_images,class_weight\nanna-li,3,\nbo-kim,4,1\ncy-dee,2,1\n"
    )
    cfg = make_cfg(
        "data=artstation", f"data.root={tmp_path / 'art'}", "output=json", config_name="describe"
    )
    run(cfg)

    def reject(constant: str) -> None:
        raise AssertionError(f"{constant} in the JSON report")

    report = json.loads(capsys.readouterr().out, parse_constant=reject)
    assert set(report["class_weights"]) == {"anna-li", "bo-kim", "cy-dee"}
    assert any("line 2 ('anna-li')" in w for w in report["warnings"])


def test_real_sample_counts_match_its_readme(make_cfg, real_data: Path) -> None:
    report = describe(make_cfg("data=wikiart", f"data.root={real_data}", config_name="describe"))
    assert totals(report) == README_STYLES
    assert not any(report["skipped"].values())
    artists = describe(
        make_cfg(
            "data=wikiart",
            f"data.root={real_data}/wikiart",
            "data.labels=artist",
            config_name="describe",
        )
    )
    assert len(artists["classes"]) == 130
    assert sum(totals(artists).values()) == sum(README_STYLES.values())


def test_short_training_on_real_sample_beats_chance(make_cfg, real_data: Path) -> None:
    from artclf.train import train

    cfg = make_cfg(
        "data=wikiart",
        f"data.root={real_data}",
        "model=simple_cnn_32",
        "logger=none",
        "trainer.max_epochs=3",
        "trainer.accelerator=cpu",
        "data.num_workers=0",
    )
    accuracy = train(cfg)
    chance = max(README_STYLES.values()) / sum(README_STYLES.values())  # majority class, 23 %
    assert accuracy > chance + 0.15  # 0.59 measured (3 epochs, seed 42)
