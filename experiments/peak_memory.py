"""Benchmark harness: stage timing with peak resident memory (Linux /proc VmHWM, reset per stage), and
running one community size per fresh process so each size's peak memory is its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _read_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS; ``False`` where the kernel does not allow it."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


@contextmanager
def stage(results: dict[str, dict[str, float]], name: str) -> Iterator[None]:
    """Time the enclosed block and record its wall seconds and peak RSS (MiB) under ``results[name]``.

    The peak covers everything the process holds during the stage, including data kept from earlier stages.
    """
    exact = reset_peak()
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    peak = _read_kib("VmHWM")
    results[name] = {"seconds": round(seconds, 2),
                     "peak_rss_mib": round(peak / 1024, 1) if peak is not None else float("nan"),
                     "peak_is_per_stage": exact}


def run_sizes(module: str, sizes: list[int], seed: int) -> list[dict[str, Any]]:
    """Run ``module.run_one(SIZE, SEED, TMP)`` in a fresh process per size (so each size's peak memory is its own,
    through ``python -m experiments.peak_memory MODULE SIZE SEED TMP``); collect each printed JSON line."""
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix=f"linli-bench-{size}-") as folder:
            done = subprocess.run([sys.executable, "-m", "experiments.peak_memory", module, str(size), str(seed),
                                   folder], check=True, capture_output=True, text=True,
                                  env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return rows


def _child(argv: list[str]) -> None:
    """The fresh process of :func:`run_sizes`: ``MODULE SIZE SEED FOLDER`` → one JSON line of ``run_one``."""
    import importlib

    module, size, seed, folder = argv
    run_one = importlib.import_module(module).run_one
    print(json.dumps(run_one(int(size), int(seed), Path(folder)), default=str))


if __name__ == "__main__":  # only as run_sizes' child; users run ``linli bench foundation|train``
    _child(sys.argv[1:])
