"""Input rows: our datamodule's model-ready batches against ImageFolder + PIL, on each root."""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import LIGHT_AUG, Row


def input_pipeline_rows(
    roots: dict[str, Path], seconds: float, sizes: tuple[int, ...]
) -> list[Row]:
    """Our datamodule path (prepared cache, aug=light, model-ready float batches) vs
    ImageFolder + PIL + the same transforms, on the class folders of each root; the raw
    memory-mapped read (the ceiling) in the name."""
    from benchmarks.input_measure import measure_input_pipeline

    rows = []
    for label, root in roots.items():
        for size in sizes:
            m = measure_input_pipeline(root, size, LIGHT_AUG, seconds)
            name = (
                f"input {size}² aug=light, {label}, {m['images']} images "
                f"(memmap read ceiling {m['memmap_ceiling_img_s']:,})"
            )
            rows.append(Row(name, m["ours_img_s"], m["imagefolder_img_s"], "ImageFolder+PIL"))
    return rows


def image_roots(images: Path | None) -> dict[str, Path]:
    """Class folders for the input rows: ``--images``; else the real WikiArt sample
    (``$ARTCLF_REAL_DATA``, 224² JPEGs) when set, and AI-ArtBench-sized 256² JPEGs generated
    like the embedded dataset (what the human and LD images of AI-ArtBench are)."""
    import os

    if images is not None:
        return {images.name: images}
    roots = {}
    real = os.environ.get("ARTCLF_REAL_DATA")
    if real and (Path(real) / "wikiart").is_dir():
        roots["WikiArt sample 224² JPEG"] = Path(real) / "wikiart"
    from artclf.data.synthetic import generate

    cache = Path(os.environ.get("ARTCLF_CACHE", ".cache")) / "synthetic" / "bench256"
    generated = generate(cache, seed=0, train_per_class=50, test_per_class=1, size=256)
    roots["synthetic 256² JPEG"] = generated / "train"
    return roots
