"""Builders of tiny on-disk datasets, in the exact layouts of the real downloads, with the
traps those downloads hold. Each returns what a correct reader must find."""

from __future__ import annotations

import io
import json
import os
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from PIL import Image


def image_bytes(seed: int, mode: str = "RGB", size: int = 24, fmt: str = "JPEG") -> bytes:
    """A small noisy image, different for every ``seed`` (so content hashes differ)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def write_image(path: Path, seed: int, mode: str = "RGB", fmt: str = "JPEG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image_bytes(seed, mode, fmt=fmt))
    return path


def write_latin1_named(folder: Path, seed: int, stem: bytes = b"caf\xe9") -> Path:
    """A valid JPEG whose name is latin-1 bytes (``café.jpg`` from an old Windows zip), not
    UTF-8; Python lists it with surrogate escapes."""
    folder.mkdir(parents=True, exist_ok=True)
    path = os.fsencode(folder) + b"/" + stem + b".jpg"
    with open(path, "wb") as handle:
        handle.write(image_bytes(seed))
    return Path(os.fsdecode(path))


def write_traps(folder: Path, seed: int, prefix: str = "trap") -> dict[str, int]:
    """A grayscale and a CMYK JPEG (valid), a truncated JPEG, a zero-byte file, ``.DS_Store``
    and a ``.txt``; returns the skip counts they cause."""
    write_image(folder / f"{prefix}_gray.jpg", seed, "L")
    write_image(folder / f"{prefix}_cmyk.jpg", seed + 1, "CMYK")
    whole = image_bytes(seed + 2, size=64)
    (folder / f"{prefix}_truncated.jpg").write_bytes(whole[: len(whole) * 2 // 3])
    (folder / f"{prefix}_empty.jpg").write_bytes(b"")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "notes.txt").write_text("not an image")
    return {"truncated": 1, "empty": 1, "not_image": 2}


#: ArtGAN fixture: style folder -> file names (artist up to the first "_"). The NFD name and
#: the lower-cased mojibake name are how they lie on disk; the split CSVs spell them properly.
NFD_NAME = unicodedata.normalize("NFD", "félix-vallotton_bath.jpg")
MOJIBAKE_NAME = "grã©goire-michonze_birds.jpg"
ARTGAN_FILES = {
    "Impressionism": ["claude-monet_a.jpg", "claude-monet_b.jpg", "alfred-sisley_c.jpg", NFD_NAME],
    "Art_Nouveau_Modern": ["alphonse-mucha_a.jpg", "alphonse-mucha_b.jpg", MOJIBAKE_NAME],
    "Baroque": ["rembrandt_a.jpg", "rembrandt_b.jpg"],
}


def make_artgan(root: Path, split_files: bool = True) -> dict:
    """``root/wikiart/<Style>/...`` (+ ``Style/ Genre/ Artist/`` split files) with traps in
    Impressionism. Returns the expected counts per split (classes named as the class files
    name them) and skip counts."""
    images = root / "wikiart"
    seed = 0
    for style, names in ARTGAN_FILES.items():
        for name in names:
            seed += 1
            write_image(images / style / name, seed)
    skipped = write_traps(images / "Impressionism", 100, prefix="claude-monet")
    if not split_files:
        return {"skipped": skipped}
    proper = {NFD_NAME: "félix-vallotton_bath.jpg", MOJIBAKE_NAME: "grégoire-michonze_birds.jpg"}
    rows = [
        f"{style}/{proper.get(name, name)}"
        for style, names in ARTGAN_FILES.items()
        for name in names
    ]
    rows += ["Impressionism/claude-monet_gray.jpg", "Impressionism/claude-monet_cmyk.jpg"]
    val = {"Impressionism/claude-monet_b.jpg", "Art_Nouveau_Modern/alphonse-mucha_b.jpg"}
    style_idx = {"Impressionism": 12, "Art_Nouveau_Modern": 3, "Baroque": 4}

    def lines(part: str, label, header: bool = False) -> str:
        chosen = [r for r in rows if (r in val) == (part == "val")]
        body = [f"{r},{label(r)}" for r in chosen]
        text = "\r\n".join((["path,,label", ""] if header else []) + body) + "\r\n"
        return text

    (root / "Style").mkdir()
    (root / "Style" / "style_class.txt").write_text("3 Art_Nouveau\n4 Baroque\n12 Impressionism\n")
    missing = "Baroque/rembrandt_missing.jpg,4\r\n"
    for part in ("train", "val"):
        text = lines(part, lambda r: style_idx[r.split("/")[0]])
        (root / "Style" / f"style_{part}.csv").write_text(
            text + (missing if part == "train" else "")
        )
    # Genre: only the monet/mucha files are listed; one row is duplicated.
    (root / "Genre").mkdir()
    (root / "Genre" / "genre_class.txt").write_text("4 landscape\n6 portrait\n")
    genre_rows = [r for r in rows if "monet" in r or "mucha" in r]
    genre = {r: 4 if "monet" in r else 6 for r in genre_rows}
    for part in ("train", "val"):
        chosen = [r for r in genre_rows if (r in val) == (part == "val")]
        body = [f"{r},{genre[r]}" for r in chosen] + ([f"{chosen[0]},{genre[chosen[0]]}"])
        (root / "Genre" / f"genre_{part}.csv").write_text("\r\n".join(body) + "\r\n")
    # Artist: header line, blank line, rows path,,idx; monet and rembrandt only.
    (root / "Artist").mkdir()
    (root / "Artist" / "artist_class").write_text("0 Claude_Monet\n1 Rembrandt\n")
    artist_rows = [r for r in rows if "monet" in r or "rembrandt" in r]
    for part in ("train", "val"):
        chosen = [r for r in artist_rows if (r in val) == (part == "val")]
        body = [f"{r},,{0 if 'monet' in r else 1}" for r in chosen]
        body += ["Baroque/rembrandt_lost.jpg,,1", "Baroque/rembrandt_gone.jpg,,1"][: part == "val"]
        (root / "Artist" / f"artist_{part}").write_text("\r\n".join(["path,,label", "", *body]))
    return {
        "skipped": skipped,
        # rows naming no file on disk, per scheme: each counts only for its own labels
        "missing": {"style": 1, "genre": 0, "artist": 1},
        "style": {
            "train": {"Art_Nouveau": 2, "Baroque": 2, "Impressionism": 5},
            "val": {"Art_Nouveau": 1, "Baroque": 0, "Impressionism": 1},
        },
        "genre": {"train": {"landscape": 3, "portrait": 1}, "val": {"landscape": 1, "portrait": 1}},
        "artist": {
            "train": {"Claude_Monet": 3, "Rembrandt": 2},
            "val": {"Claude_Monet": 1, "Rembrandt": 0},
        },
    }


def make_steubk(root: Path) -> dict:
    """Kaggle steubk/wikiart: style folders (ArtGAN's, so ``Art_Nouveau_Modern`` too),
    ``classes.csv`` (list-like genres, subsets, a row for a missing file) and ``wclasses.csv``."""
    files = {
        "Art_Nouveau_Modern/alphonse-mucha_a.jpg": ("alphonse mucha", "['portrait']", "train"),
        "Impressionism/claude-monet_a.jpg": ("claude monet", "['landscape']", "train"),
        "Impressionism/claude-monet_b.jpg": ("claude monet", "['landscape', 'marina']", "train"),
        "Impressionism/claude-monet_c.jpg": ("claude monet", "['portrait']", "test"),
        "Baroque/rembrandt_a.jpg": ("rembrandt", "['portrait']", "train"),
        "Baroque/rembrandt_b.jpg": ("rembrandt", "['portrait']", "test"),
        "Baroque/rembrandt_c.jpg": ("rembrandt", "['portrait']", "train"),
    }
    for seed, name in enumerate(files):
        write_image(root / name, seed)
    skipped = write_traps(root / "Baroque", 50, prefix="rembrandt")
    rows = [
        {"filename": name, "artist": a, "genre": g, "description": "x, y", "phash": "ab",
         "width": 24, "height": 24, "genre_count": g.count(",") + 1, "subset": s}
        for name, (a, g, s) in files.items()
    ]  # fmt: skip
    rows.append({**rows[0], "filename": "Baroque/rembrandt_gone.jpg"})
    pd.DataFrame(rows).to_csv(root / "classes.csv", index=False)
    pd.DataFrame({"file": list(files), "artist": 0, "genre": 1, "style": 2}).to_csv(
        root / "wclasses.csv", index=False
    )
    return {
        "skipped": {**skipped, "missing": 1},
        "style_test": {"Art_Nouveau": 0, "Baroque": 1, "Impressionism": 1},
        "genre": ["landscape", "portrait"],
    }


HF_STYLES = ["Abstract_Expressionism", "Baroque", "Impressionism"]


def make_hf(root: Path, metadata: bool = True) -> dict:
    """huggan/wikiart parquet shards under ``root/data``; one row has no image bytes."""
    rows = [
        {"image": {"bytes": image_bytes(i, fmt="PNG" if i % 2 else "JPEG"), "path": None},
         "artist": i % 3, "genre": 10 if i == 0 else i % 2, "style": 1 + i % 2}
        for i in range(8)
    ]  # fmt: skip
    rows.append({"image": {"bytes": b"", "path": None}, "artist": 1, "genre": 1, "style": 1})
    table = pa.Table.from_pylist(rows)
    if metadata:
        features = {
            "image": {"_type": "Image"},
            "artist": {"names": ["Unknown Artist", "a", "b"], "_type": "ClassLabel"},
            "genre": {
                "names": [*(f"g{i}" for i in range(10)), "Unknown Genre"],
                "_type": "ClassLabel",
            },
            "style": {"names": HF_STYLES, "_type": "ClassLabel"},
        }
        table = table.replace_schema_metadata(
            {"huggingface": json.dumps({"info": {"features": features}})}
        )
    (root / "data").mkdir(parents=True)
    pq.write_table(table.slice(0, 5), root / "data" / "train-00000-of-00002.parquet")
    pq.write_table(table.slice(5), root / "data" / "train-00001-of-00002.parquet")
    return {"style": {"Baroque": 4, "Impressionism": 4}, "skipped": {"empty": 1}}


#: Dürer's folder in the byte spellings the download uses.
DURER_SPELLINGS = ("Albrecht_Du\u0308rer", "Albrecht_Du╠êrer")


def make_best_artworks(root: Path) -> dict:
    """``artists.csv`` + ``images/images/<Artist>/`` + ``resized/resized/``; Dürer's folder
    twice (same images), an artist missing from the CSV, traps in Monet's folder."""
    artists = pd.DataFrame(
        {
            "id": [0, 1, 2],
            "name": ["Albrecht Dürer", "Claude Monet", "Ilya Repin"],
            "years": ["1471 - 1528", "1840 - 1926", "1844 - 1930"],
            "genre": ["Northern Renaissance", "Impressionism", "Realism,Impressionism"],
            "nationality": ["German", "French", "Russian"],
            "bio": [
                'He said "hi", then left',
                "Oscar-Claude Monet, painter",
                "Илья Репин, художник",
            ],
            "wikipedia": ["http://x", "http://y", "http://z"],
            "paintings": [3, 4, 2],
        }
    )
    root.mkdir(parents=True, exist_ok=True)
    artists.to_csv(root / "artists.csv", index=False)
    images = root / "images" / "images"
    counts = {"Albrecht Dürer": 3, "Claude Monet": 4, "Ilya Repin": 2}
    seed = 0
    for name, n in counts.items():
        folders = DURER_SPELLINGS if "rer" in name else (name.replace(" ", "_"),)
        for i in range(1, n + 1):
            seed += 1
            for folder in folders:
                write_image(images / folder / f"{folder}_{i}.jpg", seed)
            write_image(root / "resized" / "resized" / f"{folders[0]}_{i}.jpg", seed)
    write_image(images / "Unknown_Painter" / "Unknown_Painter_1.jpg", 99)
    skipped = write_traps(images / "Claude_Monet", 200, prefix="Claude_Monet")
    return {
        "counts": {**counts, "Claude Monet": 6},  # + the grayscale and the CMYK JPEG
        "skipped": {**skipped, "duplicate": 3, "unlabelled": 1},
        "resized": counts,
    }


def make_artstation(root: Path, weights_csv: bool = True) -> dict:
    """``<root>/<artist>/`` with JPEG, RGBA PNG, WEBP and animated GIF portfolios, traps, and
    a ``class_weights.csv`` that disagrees with the folders in each possible way."""
    counts = {"anna-li": 3, "bo-kim": 2, "cy-dee": 1}
    seed = 0
    for artist, n in counts.items():
        for i in range(n):
            seed += 1
            fmt = ("JPEG", "PNG", "WEBP")[i % 3]
            mode = "RGBA" if fmt == "PNG" else "RGB"
            write_image(root / artist / f"{i}.{fmt.lower()}", seed, mode, fmt)
    frames = [Image.new("P", (16, 16), color) for color in (1, 2)]
    frames[0].save(root / "cy-dee" / "anim.gif", save_all=True, append_images=frames[1:])
    counts["cy-dee"] += 1
    skipped = write_traps(root / "bo-kim", 300, prefix="bo")
    counts["bo-kim"] += 2
    if weights_csv:
        pd.DataFrame(
            {"artist": ["anna-li", "bo-kim", "gone-artist"], "n_images": [3, 9, 5],
             "class_weight": [0.5, 1.5, 2.0]}
        ).to_csv(root / "class_weights.csv", index=False)  # fmt: skip
    return {"counts": counts, "skipped": skipped}


#: AI-ArtBench's 30 folder names as downloaded: ``ukiyo-e`` for AI, ``ukiyo_e`` for human.
AI_ARTBENCH_STYLES = (
    *("art_nouveau", "baroque", "expressionism", "impressionism", "post_impressionism"),
    *("realism", "renaissance", "romanticism", "surrealism", "ukiyo_e"),
)
AI_ARTBENCH_FOLDERS = sorted(
    [*AI_ARTBENCH_STYLES]
    + [f"AI_{g}_{s.replace('_e', '-e')}" for g in ("LD", "SD") for s in AI_ARTBENCH_STYLES]
)


def make_ai_artbench(root: Path, train_per_folder: int = 4, test_per_folder: int = 2) -> dict:
    """``root/Real_AI_SD_LD_Dataset/{train,test}/<30 folders>/`` with distinct JPEGs, the traps
    in ``train/baroque`` (its grayscale and CMYK JPEGs are valid images) and ``.DS_Store`` in
    ``train/``. Returns the dataset folder, image counts per split and skip counts."""
    dataset = root / "Real_AI_SD_LD_Dataset"
    seed = 1000
    for split, n in (("train", train_per_folder), ("test", test_per_folder)):
        for folder in AI_ARTBENCH_FOLDERS:
            for i in range(n):
                seed += 1
                write_image(dataset / split / folder / f"{i}.jpg", seed)
    skipped = write_traps(dataset / "train" / "baroque", 7)
    (dataset / "train" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return {
        "dataset": dataset,
        "train": 30 * train_per_folder + 2,
        "test": 30 * test_per_folder,
        "skipped": {**skipped, "not_image": skipped["not_image"] + 1},
    }


def make_hf_hub_cache(hub: Path, shards: Path) -> Path:
    """The hub's cache folder of huggan/wikiart (``blobs/``, ``refs/main``, ``snapshots/``)
    holding ``shards`` as symlinks, plus an older but newer-dated snapshot of the first shard
    alone, which a reader must not count again. Returns the folder."""
    repo = hub / "datasets--huggan--wikiart"
    (repo / "blobs").mkdir(parents=True)
    files = sorted(shards.iterdir())
    for rev, chosen in (("rev-main", files), ("rev-old", files[:1])):
        data = repo / "snapshots" / rev / "data"
        data.mkdir(parents=True)
        for file in chosen:
            blob = repo / "blobs" / f"{rev}-{file.stem}"
            blob.write_bytes(file.read_bytes())
            (data / file.name).symlink_to(f"../../../blobs/{blob.name}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("rev-main")
    return repo


#: Side of the tiny style-transfer images (AdaIN tests and the app's stylise tab).
STYLE_SIZE = 32


def gradient_image(colour: tuple[float, float, float]) -> torch.Tensor:
    ramp = torch.linspace(0, 1, STYLE_SIZE)[None, :] * torch.ones(STYLE_SIZE, 1)
    return torch.stack([ramp * c for c in colour])[None]


def stripes_image(colour: tuple[float, float, float], period: int = 3) -> torch.Tensor:
    stripes = ((torch.arange(STYLE_SIZE) // period) % 2).float()[:, None] * torch.ones(
        1, STYLE_SIZE
    )
    return torch.stack([stripes * c for c in colour])[None]


def tensor_folder(root: Path, images: list[torch.Tensor]) -> Path:
    root.mkdir(parents=True)
    for i, image in enumerate(images):
        array = image[0].permute(1, 2, 0).mul(255).round().byte().numpy()
        Image.fromarray(np.ascontiguousarray(array)).save(root / f"{i}.png")
    (root / "notes.txt").write_text("not an image")
    return root


def make_feedback(root: Path, images: dict[str, list[bytes]], task: str) -> Path:
    """A folder as ``python -m artclf.feedback export`` writes it: ``images`` (class -> encoded
    JPEGs) under ``<root>/<task>/<class>/<sha256>.jpg``, beside its ``feedback.csv``."""
    import hashlib

    rows = []
    for label, encoded in images.items():
        (root / task / label).mkdir(parents=True, exist_ok=True)
        for data in encoded:
            digest = hashlib.sha256(data).hexdigest()
            (root / task / label / f"{digest}.jpg").write_bytes(data)
            rows.append({"sha256": digest, "task": task, "label": label})
    pd.DataFrame(rows).to_csv(root / "feedback.csv", index=False)
    return root


def jpeg_bytes(array: np.ndarray) -> bytes:
    """``array`` (HxWx3 uint8) encoded as the embedded dataset's files are."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()
