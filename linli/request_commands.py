"""``linli requests …``: how well Linli understands residents' free-text requests (诉求)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from linli.common import JsonOption, app, fail

requests_app = typer.Typer(help="Residents' free-text requests: evaluate the text understanding.",
                           no_args_is_help=True)
app.add_typer(requests_app, name="requests")


@requests_app.command("eval")
def requests_eval(
    corpus: Annotated[Path | None, typer.Option(
        help="A labelled corpus CSV (text, category; service_id/service_name, register, complaint optional). "
             "Default: the held-out test part of the shipped corpus.")] = None,
    lexicon: Annotated[list[Path] | None, typer.Option(
        help="Extra lexicon TOML file(s), merged after the shipped one (repeatable).")] = None,
    seed: Annotated[int, typer.Option(help="Random state of the classifiers.")] = 0,
    cv: Annotated[int, typer.Option(
        help="Instead: grouped k-fold cross-validation inside the train part (for tuning; 0 = off).")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Top-1 category accuracy, service recall@3 and MRR, accuracy per register, the worst categories' confusion.

    The model is built from the train part of the shipped corpus over the synthetic catalogue, so the default
    test part is never seen in training.
    """
    from features.sources.synthetic.catalogue import catalogue_frame
    from understanding.corpus import CorpusError, load_corpus, split_corpus
    from understanding.evaluation import evaluate, format_report
    from understanding.lexicon import LexiconError
    from understanding.model import RequestModel

    try:
        train, test = split_corpus(load_corpus())
        if cv:
            from understanding.cv import cross_validate
            try:
                report = cross_validate(catalogue_frame(), train, cv, seed=seed, lexicon_paths=lexicon or ())
            except ValueError as exc:
                raise fail(str(exc)) from exc
            typer.echo(json.dumps(report, ensure_ascii=False, indent=None if as_json else 1))
            return
        labelled = test if corpus is None else load_corpus(corpus)
        started = time.perf_counter()
        model = RequestModel.build(catalogue_frame(), lexicon_paths=lexicon or (), corpus=train, seed=seed)
        built = time.perf_counter() - started
    except (CorpusError, LexiconError) as exc:
        raise fail(str(exc)) from exc
    report = evaluate(model, labelled)
    report["corpus"] = "shipped corpus, held-out test part" if corpus is None else str(corpus)
    report["build_seconds"] = round(built, 1)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        typer.echo(f"corpus: {report['corpus']} (model built in {built:.1f} s)\n" + format_report(report))
