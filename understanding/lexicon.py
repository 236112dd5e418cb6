"""The service lexicon: the words residents use for each category, service and complaint, kept as data.

The shipped file (``understanding/data/lexicon.toml``) covers the synthetic catalogue; an operator adds terms for
their own services with more files of the same shape, without code. Services are keyed by their Chinese name or
their service id, so a lexicon outlives a renumbered catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from features.toml_files import read_toml

#: The lexicon shipped with Linli.
DEFAULT_LEXICON: Final = Path(__file__).resolve().parent / "data" / "lexicon.toml"
_SECTIONS: Final = ("category", "service", "complaint")


class LexiconError(ValueError):
    """A lexicon file that cannot be read: the message names the file and the entry."""


@dataclass(frozen=True)
class Lexicon:
    """Terms per category, per service key (Chinese name or id) and per complaint kind, with display names.

    Attributes
    ----------
    categories, services, complaints : dict of str to tuple of str
        Terms per key, in file order, without duplicates.
    names : dict of (str, str) to tuple of (str, str)
        ``(section, key) -> (zh, en)`` display names of categories and complaint kinds.
    """

    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    services: dict[str, tuple[str, ...]] = field(default_factory=dict)
    complaints: dict[str, tuple[str, ...]] = field(default_factory=dict)
    names: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def display(self, section: str, key: str) -> str:
        """``"中文 (english)"`` for a category or complaint kind, or the key when the lexicon names none."""
        zh, en = self.names.get((section, key), (key, ""))
        return f"{zh} ({en})" if en else zh

    def terms(self) -> set[str]:
        """Every term of every section (for the word segmenter)."""
        return {t for part in (self.categories, self.services, self.complaints) for ts in part.values() for t in ts}


def load_lexicon(paths: Sequence[Path | str] = (), *, include_default: bool = True) -> Lexicon:
    """Read and merge lexicon files: the shipped one first (unless told not to), then ``paths`` in order.

    Parameters
    ----------
    paths : sequence of path
        Extra lexicon files (TOML, same shape as the shipped one). Their terms add to earlier ones.
    include_default : bool
        Whether to start from :data:`DEFAULT_LEXICON`.

    Returns
    -------
    Lexicon
        The merged lexicon.

    Raises
    ------
    LexiconError
        A missing file, invalid TOML, an unknown section or an entry whose ``terms`` is not a list of strings.
    """
    merged: dict[str, dict[str, list[str]]] = {s: {} for s in _SECTIONS}
    names: dict[tuple[str, str], tuple[str, str]] = {}
    files = [DEFAULT_LEXICON, *map(Path, paths)] if include_default else list(map(Path, paths))
    for path in files:
        for section, key, terms, display in _entries(path):
            bucket = merged[section].setdefault(key, [])
            bucket.extend(t for t in terms if t not in bucket)
            if display is not None:
                names[(section, key)] = display
    return Lexicon(
        categories={k: tuple(v) for k, v in merged["category"].items()},
        services={k: tuple(v) for k, v in merged["service"].items()},
        complaints={k: tuple(v) for k, v in merged["complaint"].items()},
        names=names,
    )


def _entries(path: Path) -> Iterable[tuple[str, str, list[str], tuple[str, str] | None]]:
    data = read_toml(path, LexiconError, "lexicon file")
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise LexiconError(f"lexicon file {path}: unknown section(s) {unknown}; use {list(_SECTIONS)}")
    for section in _SECTIONS:
        for key, entry in data.get(section, {}).items():
            where = f"lexicon file {path}, [{section}.{key}]"
            if not isinstance(entry, dict):
                raise LexiconError(f"{where} must be a table with a 'terms' list")
            terms = entry.get("terms", [])
            if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
                raise LexiconError(f"{where}: 'terms' must be a list of non-empty strings")
            zh, en = entry.get("zh"), entry.get("en")
            display = (str(zh), str(en or "")) if zh else None
            yield section, str(key), [t.strip() for t in terms], display
