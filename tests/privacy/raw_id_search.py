"""Search files for strings as a leak would hold them: in the raw bytes, inside zip archives (``.npz``, MLflow's
zipped artifacts), inside gzip/zlib streams, and in the decoded columns of Parquet files (whose pages may be
compressed)."""

from __future__ import annotations

import gzip
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow.parquet as pq


def _contents(path: Path) -> Iterable[bytes]:
    data = path.read_bytes()
    yield data
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield archive.read(member)
    for inflate in (gzip.decompress, zlib.decompress):
        yield _inflated(inflate, data)
    if data[:4] == b"PAR1":
        table = pq.read_table(io.BytesIO(data))
        yield "\n".join(str(v) for column in table.columns for v in column.to_pylist()).encode()


def _inflated(inflate: Callable[[bytes], bytes], data: bytes) -> bytes:
    try:
        return inflate(data)
    except (OSError, zlib.error, EOFError):
        return b""


def files_holding(paths: Iterable[Path], needles: Iterable[str]) -> dict[str, list[str]]:
    """File → the needles (at most 3 shown) found in it; empty when no file holds any."""
    pattern = re.compile(b"|".join(re.escape(n.encode()) for n in sorted(set(needles), key=len, reverse=True)))
    found: dict[str, list[str]] = {}
    for path in paths:
        hits = {m.decode(errors="replace") for blob in _contents(path) for m in pattern.findall(blob)}
        if hits:
            found[str(path)] = sorted(hits)[:3]
    return found
