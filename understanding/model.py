"""The request model: from a resident's words to categories, services and a complaint flag.

Four signals, each good at something the others miss, are combined per service:

* the lexicon (:mod:`understanding.lexicon`): colloquial phrases an operator can extend without code;
* BM25 over the catalogue's names and descriptions (:mod:`understanding.retrieval`): a new service is findable;
* classifiers learned from the labelled corpus (:mod:`understanding.classifier`): categories, services and
  complaint kinds from phrasing no list foresees;
* the category's probability, so a service of the request's likely category ranks above a stray word match.

A resident's personalised scores reorder the services the text points at; they never add a service the text does
not point at. ``allowed`` removes the services a resident may not use.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.columns import Columns as C
from understanding.classifier import Featurizer, TextClassifier, Views
from understanding.corpus import check_corpus, load_corpus, split_corpus
from understanding.lexicon import Lexicon, load_lexicon
from understanding.matcher import Find, TermMatcher
from understanding.result import Intent, ServiceMatch, Understanding
from understanding.retrieval import DESCRIPTION, ServiceIndex
from understanding.scoring import (
    Weights,
    category_scores,
    complaint_kind,
    service_scores,
    with_complaints,
    with_services,
)
from understanding.segment import Segmenter
from understanding.text import check_text, normalise, pinyin_key

__all__ = ["Intent", "RequestModel", "ServiceMatch", "Understanding"]

NO_COMPLAINT = "none"


@dataclass(frozen=True)
class _Parsed:
    text: str
    views: Views
    words: list[str]
    tokens: list[str]
    finds: list[Find]


class RequestModel:
    """Understands residents' free-text requests against one services catalogue. Build with :meth:`build`."""

    def __init__(self, services: pd.DataFrame, lexicon: Lexicon, segmenter: Segmenter, index: ServiceIndex,
                 matchers: dict[str, TermMatcher], classifiers: dict[str, TextClassifier],
                 weights: Weights) -> None:
        self.services = services.reset_index(drop=True)
        self.lexicon = lexicon
        self.weights = weights
        self._segmenter, self._index, self._matchers, self._classifiers = segmenter, index, matchers, classifiers
        self._featurizer = Featurizer()
        self._terms: dict[str, list[str]] = {}
        self._complaint_category: dict[str, str] = {}
        self._names = self.services[C.NAME_ZH].astype(str).tolist()
        providers = self.services[C.PROVIDER] if C.PROVIDER in self.services else pd.Series([None] * len(services))
        self._departments = [p if isinstance(p, str) and p else None for p in providers]
        self._ids: list[str] = self.services[C.SERVICE].astype(str).tolist()
        self._service_category = self.services[C.CATEGORY].astype(str).to_numpy()
        self.categories: list[str] = sorted(set(self._service_category) | set(lexicon.categories))

    @classmethod
    def build(cls, services: pd.DataFrame, *, lexicon_paths: Sequence[Path] = (), corpus: pd.DataFrame | None = None,
              seed: int = 0, weights: Weights | None = None) -> RequestModel:
        """Build the model for a services catalogue.

        Parameters
        ----------
        services : pandas.DataFrame
            The services table (``service_id``, ``category``, ``name_zh``; ``name_en``, ``provider`` and
            ``description`` when present).
        lexicon_paths : sequence of path
            Extra lexicon files merged after the shipped one.
        corpus : pandas.DataFrame, optional
            Labelled requests to learn from (see :mod:`understanding.corpus`); ``None`` means the train part of the
            shipped corpus; an empty frame means no classifiers (lexicon and BM25 only).
        seed : int
            Random state of the classifiers.
        weights : Weights, optional
            How the signals combine; the defaults when ``None``.

        Raises
        ------
        ValueError
            A services table without its key columns, or an unreadable lexicon or corpus.
        """
        missing = [c for c in (C.SERVICE, C.CATEGORY, C.NAME_ZH) if c not in services.columns]
        if missing:
            raise ValueError(f"services table has no column(s) {missing}")
        lexicon = load_lexicon(lexicon_paths)
        services = services.reset_index(drop=True)
        table = _service_terms(services, lexicon)
        words = {normalise(t) for t in lexicon.terms()} | {normalise(t) for ts in table.values() for t in ts}
        segmenter = Segmenter(words)
        matchers = {"service": TermMatcher(table), "category": TermMatcher(lexicon.categories),
                    "complaint": TermMatcher(lexicon.complaints)}
        model = cls(services, lexicon, segmenter, ServiceIndex(services, segmenter), matchers, {},
                    weights or Weights())
        model._terms = table
        if corpus is None:
            corpus = split_corpus(load_corpus())[0]
        if len(corpus):
            model._fit(check_corpus(corpus), seed)
        return model

    def _fit(self, corpus: pd.DataFrame, seed: int) -> None:
        by_name = dict(zip(self.services[C.NAME_ZH].astype(str), self._ids, strict=True))
        known = set(self._ids)
        labels = [sid if sid in known else by_name.get(name, "")
                  for sid, name in zip(corpus["service_id"], corpus["service_name"], strict=True)]
        texts, categories = corpus["text"].tolist(), corpus["category"].tolist()
        kinds = [k or NO_COMPLAINT for k in corpus["complaint"]]
        # The catalogue and the lexicon are labelled text too: every service's names, description and terms
        # teach the classifiers words that the corpus may never use (complaint kinds learn from the corpus only).
        for position, (sid, terms) in enumerate(self._terms.items()):
            description = self.services.at[position, DESCRIPTION] if DESCRIPTION in self.services else None
            extra = [*terms, description] if isinstance(description, str) and description else terms
            texts += extra
            labels += [sid] * len(extra)
            categories += [str(self._service_category[position])] * len(extra)
        views = self._views([normalise(t) for t in texts])
        written = views.text[: len(corpus)]
        self._matchers["service"].learn_reliability(written, labels[: len(corpus)])
        self._matchers["category"].learn_reliability(written, categories[: len(corpus)])
        self._featurizer = Featurizer().fit(views)
        features = self._featurizer.transform(views)
        self._classifiers["category"] = TextClassifier(seed=seed).fit(features, categories)
        rows = [i for i, label in enumerate(labels) if label]
        if len({labels[i] for i in rows}) >= 2:
            self._classifiers["service"] = TextClassifier(seed=seed).fit(features[rows], [labels[i] for i in rows])
        if len(set(kinds)) >= 2:
            self._classifiers["complaint"] = TextClassifier(seed=seed, balanced=True).fit(
                features[: len(kinds)], kinds)
            handled = corpus[corpus["complaint"] != ""].groupby("complaint")["category"].agg(lambda c: c.mode()[0])
            self._complaint_category = {str(k): str(v) for k, v in handled.items()}

    @staticmethod
    def validate_text(text: object) -> str:
        """The stripped text, or :class:`ValueError` saying why it is not a request (see :func:`check_text`)."""
        return check_text(text)

    def understand(self, text: str, *, k: int = 5, allowed: Collection[str] | None = None,
                   personal_scores: Mapping[str, float] | None = None) -> Understanding:
        """Understand one request.

        Parameters
        ----------
        text : str
            The resident's words (at most 500 characters).
        k : int
            Most services to offer.
        allowed : collection of str, optional
            Service ids the resident may be offered; all when ``None``.
        personal_scores : mapping of str to float, optional
            The resident's personalised score per service id (any scale): reorders the services the text
            points at.

        Returns
        -------
        Understanding
            Intents, services, complaint kind and, when nothing matched, a message with categories to try.

        Raises
        ------
        ValueError
            Invalid text (see :meth:`validate_text`) or ``k`` below 1.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        parsed = self._parse(self.validate_text(text))
        features = self._featurizer.transform(parsed.views) if self._classifiers else None
        proba = {name: dict(zip(clf.classes_, clf.proba(features)[0].tolist(), strict=True))
                 for name, clf in self._classifiers.items()}
        service_finds = self._matchers["service"].scores(parsed.finds)
        category_finds = self._matchers["category"].scores(self._matchers["category"].find(parsed.text))
        bm25 = self._index.scores(parsed.tokens)
        complaint_finds = self._matchers["complaint"].scores(self._matchers["complaint"].find(parsed.text))
        w = self.weights
        cats = category_scores(self.categories, self._service_category, self._ids, service_finds, category_finds,
                               bm25, proba.get("category"), w)
        # A complaint is about the category that handles its kind (noise → legal_social): counted before the
        # services are scored, so the complaint, the category and the services offered agree.
        cats = with_complaints(cats, self._complaint_category, proba.get("complaint"), complaint_finds,
                               w.complaint_category)
        relevance = service_scores(self._ids, self._service_category, service_finds, bm25, proba.get("service"),
                                   cats, w)
        complaint = complaint_kind(complaint_finds, proba.get("complaint"), NO_COMPLAINT, w.complaint)
        cats = with_services(cats, relevance, self._service_category, w.service_category)
        return self._answer(parsed, cats, relevance, complaint, k, allowed, personal_scores)

    def _answer(self, parsed: _Parsed, cats: dict[str, float], relevance: np.ndarray, complaint: str | None, k: int,
                allowed: Collection[str] | None, personal: Mapping[str, float] | None) -> Understanding:
        ranked_cats = sorted(cats, key=lambda c: -cats[c])
        offered = relevance >= self.weights.min_relevance
        if allowed is not None:
            offered &= np.isin(self._ids, list(allowed))
        score = relevance.copy()
        candidates = np.flatnonzero(offered)
        if personal and len(candidates):
            values = np.array([personal.get(self._ids[i], np.nan) for i in candidates], dtype=float)
            known = ~np.isnan(values)
            if known.any():
                ranks = pd.Series(values[known]).rank(pct=True).to_numpy()
                score[candidates[known]] = (1 - self.weights.personal) * relevance[candidates[known]] \
                    + self.weights.personal * ranks * relevance[candidates].max()
        order = candidates[np.argsort(-score[candidates], kind="stable")][:k]
        services = [self._match(i, float(score[i]), parsed) for i in order]
        confident = [c for c in ranked_cats if cats[c] >= self.weights.min_intent]
        intents = [Intent(c, round(cats[c], 4)) for c in confident] if (services or confident) else []
        message = None
        suggested = [c for c in ranked_cats if c not in confident][:3]
        if not services:
            suggested = ranked_cats[:3]
            names = "、".join(self.lexicon.display("category", c) for c in suggested)
            message = (f"没有找到匹配的服务，可以换个说法，或试试这些类别：{names}。"
                       f" / No service matched; rephrase, or try these categories: {', '.join(suggested)}.")
        return Understanding(intents=intents, services=services, complaint=complaint, message=message,
                             suggested_categories=suggested)

    def _match(self, position: int, score: float, parsed: _Parsed) -> ServiceMatch:
        sid = self._ids[position]
        terms = [f.term for f in parsed.finds if sid in f.keys]
        words = self._index.matched(position, parsed.words)
        return ServiceMatch(service_id=sid, name_zh=self._names[position], score=round(score, 4),
                            matched=list(dict.fromkeys(terms + words)), department=self._departments[position])

    def _parse(self, text: str) -> _Parsed:
        norm = normalise(text)
        words = self._segmenter.words(norm)
        tokens = self._segmenter.tokens(norm, words)
        finds = self._matchers["service"].find(norm, pinyin_key(norm))
        return _Parsed(norm, self._views([norm], [tokens]), words, tokens, finds)

    def _views(self, texts: list[str], tokens: list[list[str]] | None = None) -> Views:
        tokens = [self._segmenter.tokens(t) for t in texts] if tokens is None else tokens
        return Views(texts, [pinyin_key(t) for t in texts], [" ".join(ts) for ts in tokens])


def _service_terms(services: pd.DataFrame, lexicon: Lexicon) -> dict[str, list[str]]:
    """Terms per service id: its names, plus the lexicon's entries under its Chinese name or its id."""
    table: dict[str, list[str]] = {}
    for _, row in services.iterrows():
        sid, name = str(row[C.SERVICE]), str(row[C.NAME_ZH])
        terms = [name, *lexicon.services.get(name, ()), *lexicon.services.get(sid, ())]
        english = row.get(C.NAME_EN)
        if isinstance(english, str) and english.strip():
            terms.append(english)
        table[sid] = list(dict.fromkeys(terms))
    return table
