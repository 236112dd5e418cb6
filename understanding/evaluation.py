"""Scoring a request model on a labelled corpus: category accuracy, service recall@3 and MRR, per register.

``linli requests eval`` prints :func:`evaluate`'s report; the default corpus is the held-out test part of the
shipped one, and the model is built from the train part only.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from features.columns import Columns as C
from understanding.model import RequestModel

#: How many services count as a hit for recall.
RECALL_AT = 3


def evaluate(model: RequestModel, corpus: pd.DataFrame, *, worst: int = 3) -> dict[str, Any]:
    """Evaluate ``model`` on ``corpus`` (checked, see :func:`understanding.corpus.check_corpus`).

    Rows whose service is not in the model's catalogue (by id or Chinese name) count for categories only.

    Parameters
    ----------
    model : RequestModel
        The model (built without these rows).
    corpus : pandas.DataFrame
        Labelled requests.
    worst : int
        How many of the least accurate categories to show with what they were mistaken for.

    Returns
    -------
    dict
        ``requests``, ``category_accuracy``, ``service_requests``, ``service_recall_at_3``, ``service_mrr``,
        ``complaint_accuracy``, ``by_register`` (register -> {requests, category_accuracy}),
        ``by_source`` (corpus file -> {requests, category_accuracy, service_recall_at_3, service_mrr}; ``"(none)"``
        for a frame without a ``source`` column), ``by_category`` (category -> accuracy) and ``worst_categories``
        (category, accuracy, confused_with).
    """
    by_name = dict(zip(model.services[C.NAME_ZH].astype(str), model.services[C.SERVICE].astype(str), strict=True))
    known = set(by_name.values())
    rows = []
    sources = corpus["source"] if "source" in corpus else pd.Series([""] * len(corpus))
    for (text, category, sid, name, register, complaint), source in zip(corpus[
            ["text", "category", "service_id", "service_name", "register", "complaint"]].itertuples(index=False),
            sources, strict=True):
        u = model.understand(text, k=max(RECALL_AT, 10))
        target = sid if sid in known else by_name.get(name, "")
        ranked = [m.service_id for m in u.services]
        rank = ranked.index(target) + 1 if target in ranked else None
        rows.append({"category": category, "predicted": u.category or "(none)", "register": register or "(none)",
                     "has_service": bool(target), "rank": rank, "complaint": complaint or None,
                     "flagged": u.complaint, "source": source or "(none)"})
    frame = pd.DataFrame(rows)
    frame["correct"] = frame["category"] == frame["predicted"]
    by_category = frame.groupby("category")["correct"].mean().sort_values()
    worst_rows = []
    for category, accuracy in by_category.head(worst).items():
        wrong = frame[(frame["category"] == category) & ~frame["correct"]]["predicted"]
        worst_rows.append({"category": category, "accuracy": round(float(accuracy), 4),
                           "confused_with": dict(Counter(wrong).most_common(3))})
    return {
        **_figures(frame),
        "complaint_accuracy": round(float((frame["complaint"].fillna("") == frame["flagged"].fillna("")).mean()), 4),
        "by_register": {r: {"requests": len(g), "category_accuracy": round(float(g["correct"].mean()), 4)}
                        for r, g in frame.groupby("register")},
        "by_source": {s: _figures(g) for s, g in frame.groupby("source")},
        "by_category": {c: round(float(a), 4) for c, a in by_category.items()},
        "worst_categories": worst_rows,
    }


def _figures(frame: pd.DataFrame) -> dict[str, Any]:
    """Requests, category accuracy, service recall@3 and MRR of scored rows (``None`` without a service)."""
    served = frame[frame["has_service"]]
    ranks = served["rank"]
    return {
        "requests": len(frame),
        "category_accuracy": round(float(frame["correct"].mean()), 4),
        "service_requests": len(served),
        "service_recall_at_3": round(float((ranks.notna() & (ranks <= RECALL_AT)).mean()), 4) if len(served) else None,
        "service_mrr": round(float((1 / ranks.dropna()).sum() / len(served)), 4) if len(served) else None,
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as text for the terminal."""
    lines = [f"requests: {report['requests']}",
             f"top-1 category accuracy: {report['category_accuracy']:.3f}",
             f"service recall@{RECALL_AT}: {report['service_recall_at_3']} "
             f"(MRR {report['service_mrr']}, {report['service_requests']} requests naming a service)",
             f"complaint flag accuracy: {report['complaint_accuracy']:.3f}", "by register:"]
    lines += [f"  {r:<16} {v['category_accuracy']:.3f}  (n={v['requests']})" for r, v in report["by_register"].items()]
    if len(report.get("by_source", {})) > 1:
        lines.append("by corpus file:")
        lines += [f"  {s:<16} {v['category_accuracy']:.3f}  recall@{RECALL_AT} {v['service_recall_at_3']}  "
                  f"(n={v['requests']})" for s, v in report["by_source"].items()]
    lines.append("worst categories:")
    lines += [f"  {w['category']:<16} {w['accuracy']:.3f}  confused with {w['confused_with'] or '-'}"
              for w in report["worst_categories"]]
    return "\n".join(lines)
