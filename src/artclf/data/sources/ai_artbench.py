"""AI-ArtBench (Kaggle ravidussilva/real-ai-art) exactly as downloaded.

``real-ai-art/Real_AI_SD_LD_Dataset/{train,test}/<folder>/*.jpg`` with 30 folders per split:
``AI_LD_<style>``, ``AI_SD_<style>`` and the human ``<style>``. The AI folders spell one style
``ukiyo-e``, the human folder ``ukiyo_e``; both become the canonical ``ukiyo_e``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from artclf.data.sources.base import DatasetLayoutError, Scan
from artclf.data.sources.files import list_folder, list_images, require_dir

STYLES = (
    "art_nouveau",
    "baroque",
    "expressionism",
    "impressionism",
    "post_impressionism",
    "realism",
    "renaissance",
    "romanticism",
    "surrealism",
    "ukiyo_e",
)
GENERATORS = ("human", "LD", "SD")
SPLITS = ("train", "test")
INNER = "Real_AI_SD_LD_Dataset"
EXPECTED = (
    f"'real-ai-art/' or its inner '{INNER}/' holding train/ and test/, each with the 30 folders "
    "AI_LD_<style>, AI_SD_<style> and <style>"
)


def folder_name(generator: str, style: str) -> str:
    """The on-disk folder of one (generator, canonical style) pair, with the download's quirk."""
    if generator == "human":
        return style
    return f"AI_{generator}_{style.replace('ukiyo_e', 'ukiyo-e')}"


#: folder name -> (generator, canonical style); the 30 names of the download.
FOLDERS = {folder_name(g, s): (g, s) for g in GENERATORS for s in STYLES}


def _is_ignorable(path: Path) -> bool:
    """Hidden folders and macOS zip residue (``.DS_Store``, ``__MACOSX``) are not data."""
    return path.name.startswith((".", "__MACOSX"))


def _looks_like_split(folder: Path) -> bool:
    return folder.is_dir() and any((folder / name).is_dir() for name in FOLDERS)


def resolve_root(root: str | Path) -> Path:
    """The folder holding ``train/`` and ``test/``, from either spelling of the root.

    Raises one line naming the expected layout and what was found, with the likely fix.
    """
    path = require_dir(root, "ai_artbench", EXPECTED)
    for candidate in (path / INNER, path):
        if any(_looks_like_split(candidate / split) for split in SPLITS):
            return candidate
    children = [p.name for p in list_folder(path) if p.is_dir() and not _is_ignorable(p)]
    if any(name in FOLDERS for name in children):
        hint = f"found class folders inside — pointed at a split folder? use {str(path.parent)!r}"
    else:
        nested = [
            name
            for name in children
            if (path / name / INNER).is_dir() or _looks_like_split(path / name / "train")
        ]
        if nested:
            hint = f"found folder {nested[0]!r} inside — pointed at the parent folder?"
        else:
            hint = f"found {', '.join(children[:8]) or 'no folders'}"
    raise DatasetLayoutError(f"ai_artbench: {str(path)!r} is not {EXPECTED}; {hint}")


def _unknown_folder_error(split_dir: Path, name: str) -> DatasetLayoutError:
    return DatasetLayoutError(
        f"ai_artbench: unknown folder {name!r} in {str(split_dir)!r}; expected only "
        f"{', '.join(sorted(FOLDERS))}. Remove or rename it (a renamed class would silently drop)."
    )


def scan(root: str | Path, layout: str = "auto", cache_dir: str | Path | None = None) -> Scan:
    """Records of every image with ``split`` (train/test as on disk) and the raw label columns
    ``style``, ``generator``, ``origin``, ``origin_style``, ``generator_style`` (``cache_dir``
    is unused: nothing is derived from the files).

    An unknown folder inside train/ or test/ is an error, not a skip: the download has exactly
    these 30 names, so an unknown one is a renamed or foreign class whose images would vanish
    from the counts unnoticed. Files lying loose in a split folder have no label (``unlabelled``).
    """
    if layout not in ("auto", "ai_artbench"):
        raise ValueError(f"ai_artbench: unknown data.layout {layout!r}; valid: auto, ai_artbench")
    base = resolve_root(root).resolve()
    skipped: Counter = Counter()
    rows = []
    for split in SPLITS:
        split_dir = base / split
        if not split_dir.is_dir():
            continue
        for entry in list_folder(split_dir, skipped):
            if _is_ignorable(entry):
                skipped["not_image"] += not entry.is_dir()
                continue
            if not entry.is_dir():
                skipped["unlabelled"] += 1
                continue
            if entry.name not in FOLDERS:
                raise _unknown_folder_error(split_dir, entry.name)
            generator, style = FOLDERS[entry.name]
            origin = "human" if generator == "human" else "AI"
            labels = {
                "style": style,
                "generator": generator,
                "origin": origin,
                "origin_style": f"{origin}_{style}",
                "generator_style": f"{'human' if origin == 'human' else 'AI_' + generator}_{style}",
            }
            rows += [
                {"path": str(p), "split": split, **labels} for p in list_images(entry, skipped)
            ]
    columns = ["path", "split", "style", "generator", "origin", "origin_style", "generator_style"]
    if not rows:
        raise DatasetLayoutError(f"ai_artbench: no images under {str(base)!r}; expected {EXPECTED}")
    return Scan(pd.DataFrame(rows, columns=columns), skipped)
