"""Grouped 5-fold cross-validation of request-understanding variants inside the train part of the shipped corpus.

The variants of ``docs/decisions/2026-12-05-request-accuracy.md``: which corpus files the folds' models learn from
(``before``: the first file only; ``more``: every shipped file), which extra lexicon files they read and how the
classifiers are set (``more-balanced``: the category and service classifiers too weigh classes inversely to their
size, as the complaint one does; ``more-c4`` / ``more-c16``: ``C`` 4 or 16 instead of 8). Every
variant is scored on the same folds and rows (the whole train part, seed 0, as ``linli requests eval --cv 5``), so
the figures compare; ``by_source`` gives them per corpus file. The test part is never read.

    python -m experiments.requests_cv before more [--lexicon FILE] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path
from typing import Any
from unittest.mock import patch

from features.sources.synthetic.catalogue import catalogue_frame
from understanding import model as model_module
from understanding.classifier import TextClassifier
from understanding.corpus import DEFAULT_CORPUS, load_corpus, split_corpus
from understanding.cv import cross_validate

#: Variant -> (the corpus files (``source``) its models learn from, ``None``: every shipped file;
#: the classifiers' settings).
VARIANTS: dict[str, tuple[tuple[str, ...] | None, dict[str, Any]]] = {
    "before": ((DEFAULT_CORPUS.name,), {}), "more": (None, {}), "more-balanced": (None, {"balanced": True}),
    "more-c4": (None, {"c": 4.0}), "more-c16": (None, {"c": 16.0})}


def run(variant: str, lexicon: list[Path], k: int = 5) -> dict[str, Any]:
    """The pooled cross-validation report of one variant, with its name, lexicon files and seconds."""
    started = time.perf_counter()
    train = split_corpus(load_corpus())[0]
    sources, settings = VARIANTS[variant]
    classifier = partial(TextClassifier, **settings) if settings else TextClassifier
    with patch.object(model_module, "TextClassifier", classifier):
        report = cross_validate(catalogue_frame(), train, k, lexicon_paths=lexicon, learn_from=sources)
    return {"variant": variant, "lexicon": [str(p) for p in lexicon],
            "seconds": round(time.perf_counter() - started), **report}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("variants", nargs="+", choices=sorted(VARIANTS))
    parser.add_argument("--lexicon", type=Path, action="append", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = [run(v, args.lexicon) for v in args.variants]
    text = json.dumps(results, ensure_ascii=False)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
