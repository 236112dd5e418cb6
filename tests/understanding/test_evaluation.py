from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from linli.cli import app
from understanding.evaluation import evaluate, format_report
from understanding.model import RequestModel


def test_the_report_counts_hits_and_misses_exactly(model: RequestModel) -> None:
    corpus = pd.DataFrame({
        "text": ["我要办暂住证", "我要办暂住证", "qwzx vbnm"],
        "category": ["administration", "health", "health"],
        "service_id": ["SV031", "", ""], "service_name": ["居住证办理", "", ""],
        "register": ["plain", "noisy", "noisy"], "complaint": ["", "", ""], "group": ["", "", ""],
    })
    report = evaluate(model, corpus)
    assert report["requests"] == 3
    assert report["category_accuracy"] == pytest.approx(1 / 3, abs=1e-3)
    assert report["service_requests"] == 1
    assert report["service_recall_at_3"] == 1.0 and report["service_mrr"] == 1.0
    assert report["by_register"]["plain"]["category_accuracy"] == 1.0
    assert report["by_register"]["noisy"]["category_accuracy"] == 0.0
    worst = report["worst_categories"][0]
    assert worst["category"] == "health" and worst["accuracy"] == 0.0
    assert worst["confused_with"] == {"administration": 1, "(none)": 1}
    assert "top-1 category accuracy: 0.333" in format_report(report)


@pytest.mark.slow
def test_cli_eval_reports_on_a_corpus_file(tmp_path: Path) -> None:
    path = tmp_path / "ours.csv"
    pd.DataFrame({"text": ["我要办暂住证", "孩子放学没人接"], "category": ["administration", "childcare"],
                  "register": ["plain", "parent_hurry"]}).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["requests", "eval", "--corpus", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["requests"] == 2 and report["category_accuracy"] == 1.0
    assert set(report["by_register"]) == {"plain", "parent_hurry"}


def test_cli_eval_names_a_bad_corpus(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("words,label\nx,y\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["requests", "eval", "--corpus", str(path)])
    assert result.exit_code == 2
    assert "no column(s) ['text', 'category']" in result.output


def test_the_report_gives_the_figures_of_each_corpus_file(model: RequestModel) -> None:
    corpus = pd.DataFrame({
        "text": ["我要办暂住证", "孩子放学没人接", "qwzx vbnm"], "category": ["administration", "childcare", "health"],
        "service_id": ["SV031", "", ""], "service_name": ["居住证办理", "", ""], "register": ["plain"] * 3,
        "complaint": [""] * 3, "group": [""] * 3, "source": ["ours.csv", "theirs.csv", "theirs.csv"],
    })
    report = evaluate(model, corpus)
    assert set(report["by_source"]) == {"ours.csv", "theirs.csv"}
    assert report["by_source"]["ours.csv"]["category_accuracy"] == 1.0
    assert report["by_source"]["ours.csv"]["service_recall_at_3"] == 1.0
    assert report["by_source"]["theirs.csv"] == {"requests": 2, "category_accuracy": 0.5, "service_requests": 0,
                                                 "service_recall_at_3": None, "service_mrr": None}
    assert "by corpus file:" in format_report(report)
