"""Finding lexicon terms in a request: literally, and by pinyin for homophone typos and pinyin input.

A term is found when it occurs in the normalised text, or when its pinyin (at least :data:`MIN_PINYIN` letters,
so short syllables do not match by chance) occurs in the text's pinyin key. A pinyin-only find counts for less.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from understanding.text import normalise, pinyin_key

#: Shortest pinyin spelling that may match on its own.
MIN_PINYIN: Final = 6
#: Weight of a find through pinyin only, relative to a literal find.
PINYIN_WEIGHT: Final = 0.7


@dataclass(frozen=True)
class Find:
    """One term found in a text, with the keys it points at and how strongly (1 literal, less by pinyin)."""

    term: str
    keys: tuple[str, ...]
    weight: float


class TermMatcher:
    """Finds the terms of a ``key -> terms`` table in texts.

    Parameters
    ----------
    table : mapping of str to sequence of str
        Terms per key (a category, a service id or a complaint kind).
    """

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        keys: dict[str, list[str]] = {}
        for key, terms in table.items():
            for term in terms:
                norm = normalise(term)
                if norm and key not in keys.setdefault(norm, []):
                    keys[norm].append(key)
        self._keys = {t: tuple(k) for t, k in keys.items()}
        self.reliability: dict[str, float] = {}
        self._pinyin = {t: p for t in self._keys if len(p := pinyin_key(t)) >= MIN_PINYIN}

    def find(self, text: str, key: str | None = None) -> list[Find]:
        """Terms found in normalised ``text`` (``key``: its pinyin key, computed when not given).

        A term inside a longer term that was also found is dropped (腿脚不便 hides 腿脚), and so is a pinyin find
        that only re-spells a literal one (没人给她做饭 does not also find 没人给他做饭).
        """
        key = pinyin_key(text) if key is None else key
        found: dict[str, float] = {}
        for term in self._keys:
            if term in text:
                found[term] = 1.0
            elif (spelled := self._pinyin.get(term)) is not None and spelled in key:
                found[term] = PINYIN_WEIGHT
        literal = [pinyin_key(t) for t, w in found.items() if w == 1.0]
        kept = [t for t in found if not any(t != o and t in o and found[o] >= found[t] for o in found)
                and not (found[t] < 1.0 and any(self._pinyin[t] in spelled for spelled in literal))]
        return [Find(t, self._keys[t], found[t]) for t in kept]

    def learn_reliability(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        """Learn how often each term points at the right key in labelled ``texts`` (normalised).

        A term found in ``n`` texts, ``r`` of them labelled with one of its keys, weighs ``(r + 1) / (n + 1)``
        afterwards: a term residents use for everything (材料, 打工 in 我是外地来打工的) fades, a term never seen
        keeps its full weight.
        """
        seen: dict[str, list[int]] = {}
        for text, label in zip(texts, labels, strict=True):
            for f in self.find(text):
                counts = seen.setdefault(f.term, [0, 0])
                counts[0] += 1
                counts[1] += label in f.keys
        self.reliability = {t: (right + 1) / (n + 1) for t, (n, right) in seen.items()}

    def scores(self, finds: Sequence[Find]) -> dict[str, float]:
        """Evidence per key: the summed weights of its finds, longer terms counting more (len / 2, at most 2),
        each times its learned reliability (see :meth:`learn_reliability`)."""
        out: dict[str, float] = {}
        for f in finds:
            strength = f.weight * min(2.0, max(1.0, len(f.term) / 2)) * self.reliability.get(f.term, 1.0)
            for k in f.keys:
                out[k] = out.get(k, 0.0) + strength
        return out
