"""Local parquet files of the Hugging Face ``huggan/wikiart`` dataset (no hub access).

Images live as bytes inside the parquet; the rest of the pipeline works on files, so each
parquet file is extracted once into the run's cache folder (never into the user's download)
and later scans reuse the extracted files. The root may also be the hub's own cache folder
(``datasets--huggan--wikiart/`` with ``blobs/``, ``refs/`` and ``snapshots/``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from artclf.data.sources.base import Scan
from artclf.data.sources.files import IMAGE_EXTENSIONS

LABEL_COLUMNS = ("style", "genre", "artist")
#: Class names when the parquet lacks the ``huggingface`` features metadata (ArtGAN order).
# fmt: off
FALLBACK_NAMES = {
    "style": [
        "Abstract_Expressionism", "Action_painting", "Analytical_Cubism", "Art_Nouveau",
        "Baroque", "Color_Field_Painting", "Contemporary_Realism", "Cubism", "Early_Renaissance",
        "Expressionism", "Fauvism", "High_Renaissance", "Impressionism",
        "Mannerism_Late_Renaissance", "Minimalism", "Naive_Art_Primitivism", "New_Realism",
        "Northern_Renaissance", "Pointillism", "Pop_Art", "Post_Impressionism", "Realism",
        "Rococo", "Romanticism", "Symbolism", "Synthetic_Cubism", "Ukiyo_e",
    ],
    "genre": [
        "abstract_painting", "cityscape", "genre_painting", "illustration", "landscape",
        "nude_painting", "portrait", "religious_painting", "sketch_and_study", "still_life",
        "Unknown Genre",
    ],
    "artist": ["Unknown Artist"],  # index 0; other artists keep their index as name
}
# fmt: on
#: The dataset's folder in the Hugging Face hub cache (``~/.cache/huggingface/hub``).
HUB_REPO = "datasets--huggan--wikiart"
SPLIT_PREFIXES = {
    "train": "train",
    "validation": "val",
    "valid": "val",
    "val": "val",
    "test": "test",
}


def parquet_files(root: Path, deep: bool = False) -> list[Path]:
    """``*.parquet`` in ``root`` or ``root/data`` (the repository's layout); with ``deep``,
    failing those, in the current snapshot of a hub cache folder, else anywhere below."""
    files = sorted([*root.glob("*.parquet"), *root.glob("data/*.parquet")])
    if files or not deep:
        return files
    snapshot = hub_snapshot(root)
    return parquet_files(snapshot, deep=True) if snapshot else sorted(root.rglob("*.parquet"))


def hub_snapshot(root: Path) -> Path | None:
    """The snapshot of a hub cache folder (``datasets--huggan--wikiart``, or the hub cache
    holding it) that holds parquet files: the one ``refs/main`` names, else the newest.
    Older snapshots stay in the cache and must not be read too."""
    if (root / HUB_REPO).is_dir():
        root = root / HUB_REPO
    folder = root / "snapshots"
    found = [p for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []
    snapshots = sorted(found, key=lambda p: p.stat().st_mtime)
    ref = root / "refs" / "main"
    main = folder / ref.read_text().strip() if ref.is_file() else None
    ordered = [main] if main in snapshots else snapshots[::-1]
    return next((s for s in ordered if parquet_files(s, deep=True)), None)


def extract_dir(cache_dir: str | Path | None = None) -> Path:
    """Where extracted images go: ``<cache_dir>/hf_extract``; without one (a direct call),
    ``$ARTCLF_CACHE/hf_extract`` or ``~/.cache/artclf/hf_extract``."""
    base = cache_dir or os.environ.get("ARTCLF_CACHE")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "artclf"
    return root / "hf_extract"


def scan_parquet(root: Path, cache_dir: str | Path | None = None) -> Scan:
    """One record per parquet row with image bytes; rows without bytes count as ``empty``.
    A download whose only split is ``train`` has no real split (huggan/wikiart)."""
    skipped: Counter = Counter()
    out = extract_dir(cache_dir)
    tables = [_read_file(path, out, skipped) for path in parquet_files(root, deep=True)]
    records = pd.concat(tables, ignore_index=True)
    if (records["split"] == "train").all():
        records["split"] = ""
    return Scan(records, skipped)


def _read_file(path: Path, extract_to: Path, skipped: Counter) -> pd.DataFrame:
    """Records of one parquet file, its images written under ``extract_to``. A corrupt file
    stops the scan (one line naming it): its thousands of images cannot be counted."""
    try:
        return _read_rows(path, extract_to, skipped)
    except pa.ArrowException as error:
        raise ValueError(
            f"wikiart (hf): {path} is not a readable parquet file ({error}); download it again"
        ) from error


def _read_rows(path: Path, extract_to: Path, skipped: Counter) -> pd.DataFrame:
    parquet = pq.ParquetFile(path)
    names = _class_names(parquet.schema_arrow.metadata or {})
    columns = [c for c in ("image", *LABEL_COLUMNS) if c in parquet.schema_arrow.names]
    if "image" not in columns:
        raise ValueError(f"wikiart (hf): {path} has no 'image' column; is it huggan/wikiart?")
    stat = path.stat()
    digest = hashlib.sha1(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    out = extract_to / f"{path.stem}-{digest.hexdigest()[:12]}"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    offset = 0
    for batch in parquet.iter_batches(batch_size=256, columns=columns):
        for i, row in enumerate(batch.to_pylist(), start=offset):
            file = _write_image(out, i, row["image"])
            if file is None:
                skipped["empty"] += 1
                continue
            labels = [_name(names, c, row.get(c)) for c in LABEL_COLUMNS if c in columns]
            rows.append((str(file), *labels))
        offset += batch.num_rows
    words = re.split(r"[-_.]", path.name.lower())
    split = next((SPLIT_PREFIXES[w] for w in words if w in SPLIT_PREFIXES), "")
    table = pd.DataFrame(rows, columns=["path", *(c for c in LABEL_COLUMNS if c in columns)])
    table.insert(1, "split", split)
    return table


def _write_image(out: Path, index: int, image: dict | None) -> Path | None:
    """Write the row's bytes once (reused on later scans); None when there are none."""
    data = (image or {}).get("bytes")
    if not data:
        return None
    suffix = Path((image or {}).get("path") or "").suffix.lower()
    file = out / f"{index:07d}{suffix if suffix in IMAGE_EXTENSIONS else '.jpg'}"
    if not file.exists():
        partial = file.with_suffix(file.suffix + ".part")
        partial.write_bytes(data)
        partial.replace(file)
    return file


def _class_names(metadata: dict[bytes, bytes]) -> dict[str, list[str]]:
    """ClassLabel names from the ``huggingface`` schema metadata, else the fallbacks."""
    names = {column: list(values) for column, values in FALLBACK_NAMES.items()}
    raw = metadata.get(b"huggingface")
    if raw:
        features = json.loads(raw).get("info", {}).get("features", {})
        for column in LABEL_COLUMNS:
            if isinstance(features.get(column), dict) and features[column].get("names"):
                names[column] = list(features[column]["names"])
    return names


def _name(names: dict[str, list[str]], column: str, value: int | None) -> str | None:
    """The class name of a ClassLabel id; None for no label (null, or the ``datasets``
    library's -1)."""
    if value is None or value < 0:
        return None
    known = names[column]
    return known[value] if 0 <= value < len(known) else str(value)
