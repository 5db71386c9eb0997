"""The style folders every WikiArt folder form shares (``<Style>/<artist>_<title>.jpg``): one
record per image, and the index that finds the record a split file or CSV names."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from artclf.data.sources.files import class_folders, count_loose_files, list_folder, list_images
from artclf.data.sources.names import match_key, repair_lowercased_mojibake

#: Style folders whose style has another name (in ``style_class.txt`` and huggan/wikiart).
FOLDER_STYLES = {"Art_Nouveau_Modern": "Art_Nouveau"}
#: Folders next to the style folders that hold ArtGAN's split files, not images.
SPLIT_FOLDERS = frozenset({"style", "genre", "artist"})
#: The Kaggle steubk copy's tables, beside its style folders.
STEUBK_CSVS = ("classes.csv", "wclasses.csv")


def style_folder_records(
    images: Path, skipped: Counter, metadata: frozenset[str] = frozenset()
) -> pd.DataFrame:
    """One row per image in ``<images>/<Style>/``: path, style (the folder's style), artist
    (file name up to the first ``_``, its mojibake repaired and soft hyphens dropped, so
    ``grã©goire-michonze`` and ``grégoire-michonze`` are one artist). Files beside the style
    folders are counted as skipped, except the download's own ``metadata`` files."""
    count_loose_files(images, skipped, metadata)
    rows = [
        (str(path), "", FOLDER_STYLES.get(folder.name, folder.name), file_artist(path))
        for folder in class_folders(images, SPLIT_FOLDERS)
        for path in list_images(folder, skipped)
    ]
    return pd.DataFrame(rows, columns=["path", "split", "style", "artist"])


def file_artist(path: Path) -> str:
    """The artist slug an ArtGAN file name starts with."""
    return repair_lowercased_mojibake(path.stem.split("_", 1)[0]).replace("\u00ad", "")


class FileIndex:
    """Finds the record a CSV path names, whatever its spelling (mojibake, NFD, case) and
    whether it gives ``<Style>/<file>`` or only ``<file>``; collects the paths that name no
    file on disk. A path naming a file that is there but skipped (zero bytes) is not missing."""

    def __init__(self, images: Path, records: pd.DataFrame) -> None:
        self.rows = _keys_to_rows(list(records["path"]))
        on_disk = [str(p) for d in class_folders(images, SPLIT_FOLDERS) for p in list_folder(d)]
        self.present = set(_keys_to_rows(on_disk))
        self.missing: set[str] = set()

    def rows_of(self, paths: pd.Series) -> pd.Series:
        """Row of each path (``-1`` when it names no record)."""
        keys = paths.map(_key)
        self.missing.update(k for k in keys if k not in self.rows and k not in self.present)
        return keys.map(lambda key: self.rows.get(key, -1))


def _keys_to_rows(paths: list[str]) -> dict[str, int]:
    """``<Style>/<file>`` keys, and ``<file>`` keys where the name is unique."""
    rows = {_key(path): i for i, path in enumerate(paths)}
    names = pd.Series([match_key(Path(p).name) for p in paths])
    unique = ~names.duplicated(keep=False)
    rows.update({name: i for i, name in names[unique].items()})
    return rows


def _key(path: str) -> str:
    parts = path.replace("\\", "/").strip("/").split("/")
    return match_key("/".join(parts[-2:]))
