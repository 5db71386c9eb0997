"""What every dataset reader returns, and the checks they share.

A reader only knows its on-disk layout: it turns a root folder into a table of
records (one row per image, with raw label columns) and counts what it skipped.
Label schemes, splitting and image decoding happen downstream.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})

#: Reasons a file is left out, as counted in ``Scan.skipped`` and printed by ``describe``.
SKIP_REASONS = (
    "not_image",  # wrong extension, hidden file (.DS_Store, ._foo.jpg), folder
    "empty",  # zero bytes
    "missing",  # named by a CSV/split file but absent on disk
    "broken_link",  # a symlink to nothing, or in a loop
    "bad_name",  # a file name that is not valid UTF-8 (cannot be a label, path or key)
    "unreadable",  # not decodable as an image
    "truncated",  # decoding stopped early
    "duplicate",  # same content as an earlier file (where a reader deduplicates)
    "unlabelled",  # no label under the chosen scheme (e.g. unknown genre dropped)
)


class DatasetLayoutError(ValueError):
    """The root does not look like the expected layout; the message says what was expected."""


def nfc(text: str) -> str:
    """``text`` in Unicode NFC: macOS writes names in NFD, CSVs mostly in NFC, and the two
    spellings of ``josé`` must be one label."""
    return unicodedata.normalize("NFC", text)


@dataclass
class Listing:
    """Images per class that a download's own file claims (ArtStation's ``class_weights.csv``);
    the pipeline compares it with the readable images, which only decoding reveals."""

    file: str
    column: str  # the raw label column it counts
    counts: dict[str, int | None]  # class -> claimed images (None where the file gives none)


@dataclass
class Scan:
    """Records of one dataset root.

    ``records`` has a ``path`` column (absolute ``str``), a ``split`` column (``"train"``,
    ``"val"``, ``"test"`` where the download defines it, else ``""``) and one column per raw
    label the layout provides (e.g. ``style``, ``artist``). ``skipped`` counts left-out files
    by reason (keys from ``SKIP_REASONS``). Label values and the keys of ``class_weights`` and
    ``listing`` are made NFC here, once for every reader: they come from folder names, file
    names and CSVs, which spell them differently.
    """

    records: pd.DataFrame
    skipped: Counter = field(default_factory=Counter)
    class_weights: dict[str, float] | None = None  # per raw label value, if the layout ships them
    #: Splits that hold for one label column only (ArtGAN ships separate style, genre and
    #: artist train/val files); indexed like ``records``.
    split_by_label: dict[str, pd.Series] = field(default_factory=dict)
    #: Skips that hold for one label column only (rows of ArtGAN's artist files that name no
    #: file on disk are missing for ``labels=artist``, not for ``labels=style``).
    skipped_by_label: dict[str, Counter] = field(default_factory=dict)
    listing: Listing | None = None

    def __post_init__(self) -> None:
        for column in self.label_columns:
            self.records[column] = self.records[column].map(
                lambda value: nfc(value) if isinstance(value, str) else value
            )
        if self.class_weights is not None:
            self.class_weights = {nfc(k): w for k, w in self.class_weights.items()}
        if self.listing is not None:
            self.listing.counts = {nfc(k): n for k, n in self.listing.counts.items()}

    @property
    def label_columns(self) -> list[str]:
        return [c for c in self.records.columns if c not in ("path", "split")]

    def skipped_for(self, columns: list[str]) -> Counter:
        """What was skipped for a run labelled by ``columns``."""
        skipped = Counter(self.skipped)
        for column in columns:
            skipped.update(self.skipped_by_label.get(column, Counter()))
        return skipped

    def records_for(self, column: str) -> pd.DataFrame:
        """``records`` with the ``split`` the download defines for the label ``column``."""
        if column not in self.split_by_label:
            return self.records
        return self.records.assign(split=self.split_by_label[column])


def require_dir(root: str | Path, layout: str, expected: str) -> Path:
    """Return ``root`` as a Path or raise one clear line naming the expected layout."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DatasetLayoutError(
            f"{layout}: dataset root {str(path)!r} does not exist or is not a folder; "
            f"expected {expected}. Set data.root=PATH to the folder you downloaded."
        )
    return path


def _found(root: Path, limit: int = 4) -> str:
    """What ``root`` holds, in a few words, for error messages."""
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    if not entries:
        return "an empty folder"
    more = f" and {len(entries) - limit} more" if len(entries) > limit else ""
    return ", ".join(entries[:limit]) + more


def layout_error(
    layout: str, root: Path, expected: str, looks_like: Callable[[Path], bool]
) -> DatasetLayoutError:
    """One line: what was expected, what ``root`` holds instead, and where the layout is if
    the user pointed one level too high or too low."""
    hint = ""
    below = [child for child in class_folders(root) if looks_like(child)]
    if below:
        hint = f"; pointed at the parent folder? try data.root={below[0]}"
    elif root.parent != root and looks_like(root.parent):
        hint = f"; pointed at a sub-folder? try data.root={root.parent}"
    return DatasetLayoutError(
        f"{layout}: {str(root)!r} does not look like {expected}; found {_found(root)}{hint}"
    )


def file_skip_reason(path: Path) -> str | None:
    """Cheap filesystem checks (no decoding): why ``path`` is not an image record, or None."""
    name = path.name
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes, which Python keeps as surrogates
            return "bad_name"
    if name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS:
        return "not_image"
    if not path.is_file():
        if path.is_symlink() and not path.exists():
            return "broken_link"
        return "missing" if not path.exists() else "not_image"
    if path.stat().st_size == 0:
        return "empty"
    return None


def class_folders(root: Path, exclude: frozenset[str] = frozenset()) -> list[Path]:
    """Sorted sub-folders of ``root`` that can hold a class (not hidden, not ``__MACOSX``,
    not in ``exclude``, compared case-insensitively)."""
    return [
        path
        for path in sorted(root.iterdir())
        if path.is_dir()
        and not path.name.startswith((".", "__"))
        and path.name.lower() not in exclude
    ]


def count_loose_files(
    folder: Path, skipped: Counter, metadata: frozenset[str] = frozenset()
) -> None:
    """Count the files lying beside the class folders in ``folder``: an image there has no
    class (``unlabelled``), anything else is skipped for its reason (``.DS_Store``:
    ``not_image``). The download's own files (``metadata``, by name) are not counted."""
    for path in folder.iterdir():
        if path.is_dir() or path.name in metadata:
            continue
        skipped[file_skip_reason(path) or "unlabelled"] += 1


def list_images(folder: Path, skipped: Counter) -> list[Path]:
    """Sorted image files directly inside ``folder``; others are counted in ``skipped``."""
    images = []
    for path in sorted(folder.iterdir()):
        reason = file_skip_reason(path)
        if reason is None:
            images.append(path)
        elif not path.is_dir():
            skipped[reason] += 1
    return images


_MOJIBAKE_ENCODINGS = ("cp437", "cp850", "cp1252", "latin-1")


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 bytes that were decoded with a DOS/Windows code page, possibly twice.

    ``Du╠êrer`` (UTF-8 read as cp437) and ``DuÔòá├¬rer`` (that again, as cp850) both come
    back as ``Du\u0308rer``. Text that is already right is returned unchanged.
    """
    for _ in range(3):
        for encoding in _MOJIBAKE_ENCODINGS:
            try:
                repaired = text.encode(encoding).decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if repaired != text:
                text = repaired
                break
        else:
            return text
    return text


def repair_lowercased_mojibake(text: str) -> str:
    """Undo UTF-8 read as cp1252 and then lower-cased, as in ArtGAN's WikiArt file names:
    ``grã©goire`` -> ``grégoire``, ``â€™`` -> ``’``. Only runs that decode to one character
    are replaced, so correct letters and the case of the rest stay as they are."""
    out, i = [], 0
    while i < len(text):
        found = _mojibake_at(text, i) if "\u00c0" <= text[i] <= "\u00ff" else None
        char, length = found or (text[i], 1)
        out.append(char)
        i += length
    return "".join(out)


def _mojibake_at(text: str, i: int) -> tuple[str, int] | None:
    """The character whose UTF-8 bytes the 2-4 characters at ``i`` show (as they are, or with
    the first one upper-cased again), and how many they are; None if there is none."""
    chunks = [text[i : i + n] for n in (2, 3, 4)]
    for chunk in [*chunks, *(c[0].upper() + c[1:] for c in chunks)]:
        char = _one_char(chunk)
        if char:
            return char, len(chunk)
    return None


def _one_char(chunk: str) -> str | None:
    """The single non-ASCII character whose UTF-8 bytes ``chunk`` shows in cp1252 (latin-1
    for the bytes cp1252 leaves undefined), or None."""
    for encoding in ("cp1252", "latin-1"):
        try:
            decoded = chunk.encode(encoding).decode("utf-8")
            break
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    else:
        return None
    if len(decoded) != 1 or decoded.isascii() or unicodedata.category(decoded) == "Cc":
        return None
    return decoded


def ascii_key(name: str) -> str:
    """Fold a name to a comparable ASCII key: mojibake, NFD/NFC, case and punctuation collapse.

    ``Albrecht_Du\u0308rer``, ``Albrecht_Dürer``, ``Albrecht_Du╠êrer`` and ``albrecht dürer``
    all give ``albrechtdurer``.
    """
    folded = unicodedata.normalize("NFKD", repair_mojibake(name))
    ascii_only = folded.encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in ascii_only.lower() if ch.isalnum())


def match_key(name: str) -> str:
    """Key that equates the spellings of one file name a CSV and a disk may disagree on:
    mojibake (also ArtGAN's lower-cased ``grã©goire``), NFC/NFD, soft hyphens and case."""
    text = repair_mojibake(repair_lowercased_mojibake(unicodedata.normalize("NFC", name)))
    return unicodedata.normalize("NFC", text).replace("\u00ad", "").casefold()
