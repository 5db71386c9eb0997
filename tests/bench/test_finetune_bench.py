"""``make bench ARGS="--only finetune"`` machinery on the tiny synthetic set: every mode gives a
rate, the cached one also its build rate, and the subset is links to the real files."""

from __future__ import annotations

from pathlib import Path

from benchmarks.finetune import MODES, frozen_layer_rows, measure_mode, subset_folder
from conftest import TINY_SYNTHETIC
from fixtures import write_image


def test_each_freeze_mode_gives_training_and_cache_rates(make_cfg) -> None:
    cfg = make_cfg(*TINY_SYNTHETIC, "model.freeze=[block1]", "aug=paintings")
    measured = {mode: measure_mode(cfg, mode, views=2) for mode in MODES}
    assert all(m["images"] == 160 and m["images_s"] > 0 for m in measured.values())
    assert measured["cached"]["build_views_s"] > 0
    levers = frozen_layer_rows(cfg, seconds=0.1)
    assert len(levers) >= 2 and all(r.ours > 0 and r.baseline > 0 for r in levers)


def test_subset_links_the_first_files_of_each_style(tmp_path: Path) -> None:
    for style in ("Baroque", "Rococo"):
        for i in range(3):
            write_image(tmp_path / "real" / "wikiart" / style / f"{i}.jpg", seed=i)
    subset = subset_folder(tmp_path / "real", 2, tmp_path / "subset")
    links = sorted((subset / "wikiart").rglob("*.jpg"))
    assert [p.relative_to(subset).as_posix() for p in links] == [
        "wikiart/Baroque/0.jpg", "wikiart/Baroque/1.jpg", "wikiart/Rococo/0.jpg",
        "wikiart/Rococo/1.jpg",
    ]  # fmt: skip
    assert all(p.is_symlink() and p.resolve().parent.parent.parent.name == "real" for p in links)
