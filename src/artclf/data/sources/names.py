"""Label and file names as downloads spell them: Unicode normal form, and the repair of UTF-8
names that were decoded with a DOS/Windows code page (mojibake) so a CSV and a disk agree."""

from __future__ import annotations

import unicodedata


def nfc(text: str) -> str:
    """``text`` in Unicode NFC: macOS writes names in NFD, CSVs mostly in NFC, and the two
    spellings of ``josé`` must be one label."""
    return unicodedata.normalize("NFC", text)


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
