"""Benchmark of the request model: build time, and the time of one ``understand()`` call (p50, p99).

The model is built as ``linli requests eval`` builds it (the synthetic catalogue, the shipped corpus's train
part); then every test-part request, and the same requests padded to the 500-character limit, are understood
``--rounds`` times, one call at a time, and each call is timed. This is the text-understanding share of a
``POST /requests`` answer; the endpoint's own latency over loopback is measured with the API.

Run::

    python -m experiments.requests_bench            # prints one JSON object
    python -m experiments.requests_bench --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from features.sources.synthetic.catalogue import catalogue_frame
from understanding.corpus import load_corpus, split_corpus
from understanding.model import RequestModel
from understanding.text import MAX_TEXT_LENGTH


def run(rounds: int = 3) -> dict[str, object]:
    """Build the model and time ``understand()``; returns the figures (milliseconds and seconds)."""
    train, test = split_corpus(load_corpus())
    started = time.perf_counter()
    model = RequestModel.build(catalogue_frame(), corpus=train)
    built = time.perf_counter() - started
    texts = test["text"].tolist()
    filler = "，我再说一遍情况：" + "家里老人身体不好孩子又小"
    long_texts = [(t + filler * 40)[:MAX_TEXT_LENGTH] for t in texts[:50]]
    model.understand(texts[0])  # warm-up, as a server answers its first request after start-up
    figures: dict[str, object] = {"nproc": os.cpu_count(), "build_seconds": round(built, 1), "requests": len(texts)}
    for name, batch in (("typical", texts), ("500_chars", long_texts)):
        times = []
        for _ in range(rounds):
            for text in batch:
                t0 = time.perf_counter()
                model.understand(text, k=5)
                times.append(time.perf_counter() - t0)
        ms = np.asarray(times) * 1000
        figures[name] = {"calls": len(ms), "p50_ms": round(float(np.percentile(ms, 50)), 2),
                         "p99_ms": round(float(np.percentile(ms, 99)), 2),
                         "mean_chars": round(float(np.mean([len(t) for t in batch])), 1)}
    return figures


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="Times every request is understood.")
    print(json.dumps(run(parser.parse_args().rounds), ensure_ascii=False))


if __name__ == "__main__":
    main()
