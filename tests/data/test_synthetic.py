"""The embedded default dataset: AI-ArtBench's layout, deterministic, written once."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from artclf.data.sources.ai_artbench import scan
from artclf.data.synthetic import generate
from fixtures import AI_ARTBENCH_FOLDERS

TINY = {"train_per_class": 2, "test_per_class": 1, "size": 16}


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.jpg"))
    }


def test_layout_is_ai_artbench_and_reads_through_its_reader(tmp_path):
    root = generate(tmp_path / "synth", seed=0, **TINY)
    for split in ("train", "test"):
        assert sorted(p.name for p in (root / split).iterdir()) == AI_ARTBENCH_FOLDERS
    records = scan(root).records
    assert records["split"].value_counts().to_dict() == {"train": 60, "test": 30}
    sizes = {Image.open(p).size for p in records.query("generator == 'SD'")["path"]}
    assert sizes == {(32, 32)}  # SD larger, as in the real data
    assert len(set(digests(root).values())) == 90  # no two images equal


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    first = digests(generate(tmp_path / "a", seed=3, **TINY))
    assert digests(generate(tmp_path / "b", seed=3, **TINY)) == first
    other = digests(generate(tmp_path / "c", seed=4, **TINY))
    assert other.keys() == first.keys()
    assert not set(other.values()) & set(first.values())


def test_written_once_and_regenerated_when_parameters_change(tmp_path):
    root = generate(tmp_path / "synth", seed=0, **TINY)
    stamp = (root / "train" / "baroque" / "00000.jpg").stat().st_mtime_ns
    generate(root, seed=0, **TINY)
    assert (root / "train" / "baroque" / "00000.jpg").stat().st_mtime_ns == stamp
    generate(root, seed=0, **{**TINY, "train_per_class": 1})
    assert len(list((root / "train" / "baroque").iterdir())) == 1


def test_concurrent_generators_end_with_one_complete_copy(tmp_path):
    with ThreadPoolExecutor(2) as pool:
        roots = list(pool.map(lambda _: generate(tmp_path / "synth", seed=1, **TINY), range(2)))
    assert roots[0] == roots[1]
    assert len(digests(roots[0])) == 90
    assert [p.name for p in tmp_path.iterdir()] == ["synth"]


def test_a_folder_of_other_files_is_never_replaced(tmp_path: Path) -> None:
    """Generating the embedded set into a download's folder (a preset's data.root under
    ``data=synthetic``) once deleted the download: now it is one line and nothing is touched."""

    real = tmp_path / "wikiart_sample"
    (real / "wikiart" / "Baroque").mkdir(parents=True)
    (real / "wikiart" / "Baroque" / "rembrandt_a.jpg").write_bytes(b"a painting")
    with pytest.raises(ValueError, match="holds files that are not a generated dataset"):
        generate(real, seed=0, train_per_class=1, test_per_class=1, size=8)
    assert (real / "wikiart" / "Baroque" / "rembrandt_a.jpg").read_bytes() == b"a painting"
    assert sorted(p.name for p in real.iterdir()) == ["wikiart"]
