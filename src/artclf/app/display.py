"""How the page writes what the models and the store name in code: class labels as people
write them (``AI_art_nouveau`` is "AI-generated · Art Nouveau"), a head by what it tells
apart, fractions as percentages, and any such text made inert before it goes into Markdown."""

from __future__ import annotations

import re

#: How a label's origin prefix reads; ``generator_style`` labels add the generator (SD, LD).
ORIGINS = {"AI": "AI-generated", "human": "Human"}
#: Names whose spelling no rule gives.
SPELLINGS = {"ukiyo e": "Ukiyo-e", "post impressionism": "Post-Impressionism"}
#: Words a person's or a style's name keeps in lower case (``vincent-van-gogh``).
PARTICLES = {"van", "von", "de", "der", "den", "del", "della", "da", "di", "du", "la", "le"}
#: What each head (label column) tells apart.
HEADS = {
    "origin_style": "Origin and style",
    "generator_style": "Generator and style",
    "origin": "AI-generated or human",
    "generator": "Generator",
    "style": "Style",
    "genre": "Genre",
    "artist": "Artist",
}
MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$])")


def _words(text: str) -> str:
    """``art_nouveau`` → "Art Nouveau", ``vincent-van-gogh`` → "Vincent van Gogh"; a name
    already in mixed case keeps it (``Vincent_van_Gogh``)."""
    spaced = re.sub(r"[_-]+", " ", text).strip()
    if spaced.lower() in SPELLINGS:
        return SPELLINGS[spaced.lower()]
    if spaced != spaced.lower():
        return spaced
    words = spaced.split()
    return " ".join(
        w if i and w in PARTICLES else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )


def display_name(label: str) -> str:
    """A class label as a person reads it: ``AI_art_nouveau`` → "AI-generated · Art Nouveau",
    ``AI_SD_baroque`` → "AI-generated (SD) · Baroque", ``human_ukiyo_e`` → "Human · Ukiyo-e",
    ``AI`` → "AI-generated", ``claude-monet`` → "Claude Monet"."""
    origin, _, rest = label.partition("_")
    if origin not in ORIGINS:
        return _words(label)
    if not rest:
        return ORIGINS[origin]
    generator, _, style = rest.partition("_")
    if origin == "AI" and style and generator.isupper():  # AI_SD_baroque: generator + style
        return f"{ORIGINS[origin]} ({generator}) · {_words(style)}"
    return f"{ORIGINS[origin]} · {_words(rest)}"


def head_name(task: str) -> str:
    """A head by what it tells apart (``origin_style`` → "Origin and style")."""
    return HEADS.get(task, _words(task))


def percent(fraction: float) -> str:
    """``0.8516`` → "85.2 %", as the reports write percentages."""
    return f"{100 * fraction:.1f} %"


def markdown_text(text: str) -> str:
    """``text`` shown literally inside Markdown: a label ``[x](http://…)`` stays text, not a
    link (labels are folder names a dataset chose)."""
    return MARKDOWN.sub(r"\\\1", text)
