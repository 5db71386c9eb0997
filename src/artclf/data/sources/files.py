"""Filesystem helpers every reader shares: the one folder listing (``list_folder``, which
leaves out names that are not UTF-8), which files are images, class folders, and the
one-line errors for a root that is missing or laid out otherwise."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from artclf.data.sources.base import DatasetLayoutError

#: File name endings read as images, by every reader and by predict/explain/stylize folders.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})


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
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in list_folder(root))
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


def has_utf8_name(path: Path) -> bool:
    """False for a name whose bytes are not UTF-8 (a latin-1 ``café.jpg``): Python keeps
    them as surrogate escapes, which no CSV, label, cache key or MLflow tag can hold."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def list_folder(folder: Path, skipped: Counter | None = None) -> list[Path]:
    """Sorted entries of ``folder`` whose names are valid UTF-8: the one listing every reader
    uses, so a bad name is left out (and counted as ``bad_name`` in ``skipped``, where the
    caller counts this folder) before it can stop a scan."""
    entries = []
    for path in sorted(folder.iterdir()):
        if has_utf8_name(path):
            entries.append(path)
        elif skipped is not None:
            skipped["bad_name"] += 1
    return entries


def file_skip_reason(path: Path) -> str | None:
    """Cheap filesystem checks (no decoding): why ``path`` is not an image record, or None."""
    name = path.name
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
    not in ``exclude``, compared case-insensitively). A folder with a bad name is counted
    where its parent's entries are (``count_loose_files``)."""
    return [
        path
        for path in list_folder(root)
        if path.is_dir()
        and not path.name.startswith((".", "__"))
        and path.name.lower() not in exclude
    ]


def count_loose_files(
    folder: Path, skipped: Counter, metadata: frozenset[str] = frozenset()
) -> None:
    """Count the files lying beside the class folders in ``folder``: an image there has no
    class (``unlabelled``), anything else is skipped for its reason (``.DS_Store``:
    ``not_image``). The download's own files (``metadata``, by name) are not counted; entries
    with a bad name, folders too, are (``bad_name``)."""
    for path in list_folder(folder, skipped):
        if path.is_dir() or path.name in metadata:
            continue
        skipped[file_skip_reason(path) or "unlabelled"] += 1


def list_images(folder: Path, skipped: Counter) -> list[Path]:
    """Sorted image files directly inside ``folder``; others are counted in ``skipped``."""
    images = []
    for path in list_folder(folder, skipped):
        reason = file_skip_reason(path)
        if reason is None:
            images.append(path)
        elif not path.is_dir():
            skipped[reason] += 1
    return images
