"""A version's stored lists, memory-mapped: no Python object per resident, one copy per machine.

:meth:`ListStore.open` checks a folder written by :mod:`training.batch_lists` — the manifest's SHA-256 against the
run's tag, each file's SHA-256 and row count against the manifest, the schema, the hash order and the residents
covered — and maps each bucket file with :func:`pyarrow.memory_map`. The columns are then numpy views of the
mapped pages: a lookup hashes the id (:func:`scale.buckets.resident_hash`), picks the bucket and binary-searches
the bucket's hash column. The pages belong to the kernel's page cache, so every serving process on the machine
shares them, and resident memory stays flat in the number of residents (docs/decisions/2026-12-04-list-store.md).

Lists scored while serving (cold-start residents, long lists) go through the same class, from an in-memory table
(:meth:`ListStore.of_table`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from scale.buckets import resident_hash
from training import rule_inputs
from training.batch_lists import FORMAT, MANIFEST, SCHEMA, sha256_of
from training.rule_inputs import RuleInputs


class ListStoreError(ValueError):
    """Stored lists are missing, partial, corrupt or do not belong to the version."""


class ListFile:
    """One table of lists (a bucket file or lists scored now), read through numpy views of its buffers.

    Parameters
    ----------
    table : pyarrow.Table
        :data:`training.batch_lists.SCHEMA`, rows in hash order.
    name : str
        Where it came from, for errors.

    Raises
    ------
    ListStoreError
        The schema, the list offsets or the hash order are not as written by :mod:`training.batch_lists`.
    """

    def __init__(self, table: pa.Table, name: str) -> None:
        if not table.schema.equals(SCHEMA):
            raise ListStoreError(f"{name}: not a Linli lists table (schema {table.schema})")
        if table.num_rows == 0:
            table = SCHEMA.empty_table()
        table = table.combine_chunks() if any(c.num_chunks != 1 for c in table.columns) else table

        def column(name_: str) -> Any:
            return table.column(name_).chunk(0) if table.num_rows else pa.array([], SCHEMA.field(name_).type)

        self.rows = table.num_rows
        self.hashes = column("resident_hash").to_numpy()
        self.ids = column("resident_id")
        self.prefers_offline = column("prefers_offline").to_numpy(zero_copy_only=False)
        lists = [column(c) for c in ("services", "scores", "explanation", "explanation_zh")]
        self.offsets = lists[0].offsets.to_numpy()
        if any(not np.array_equal(a.offsets.to_numpy(), self.offsets) for a in lists[1:]):
            raise ListStoreError(f"{name}: the list columns do not line up")
        if (self.hashes[1:] < self.hashes[:-1]).any():
            raise ListStoreError(f"{name}: rows are not in resident-hash order")
        self.services = lists[0].values.to_numpy()
        self.scores = lists[1].values.to_numpy()
        self.en_codes, self.en = lists[2].values.indices.to_numpy(), lists[2].values.dictionary
        self.zh_codes, self.zh = lists[3].values.indices.to_numpy(), lists[3].values.dictionary
        if len(self.offsets) and int(self.offsets[-1]) > len(self.services):
            raise ListStoreError(f"{name}: list offsets point past the stored services")

    def row_of(self, resident_id: str, hashed: np.uint64) -> int:
        """Row of a resident, or -1 (the hash is searched, then the id compared: collisions are told apart)."""
        lo = int(np.searchsorted(self.hashes, hashed, "left"))
        hi = int(np.searchsorted(self.hashes, hashed, "right"))
        return next((r for r in range(lo, hi) if self.ids[r].as_py() == resident_id), -1)

    def span(self, row: int) -> slice:
        """Positions of one row's list in the flat columns."""
        return slice(int(self.offsets[row]), int(self.offsets[row + 1]))

    def texts(self, position: int) -> tuple[str, str]:
        """English and Chinese explanation at one flat position."""
        return str(self.en[int(self.en_codes[position])].as_py()), str(self.zh[int(self.zh_codes[position])].as_py())


@dataclass(frozen=True)
class ListStore:
    """Every list of a version: one :class:`ListFile` per resident bucket.

    Attributes
    ----------
    files : tuple of ListFile
    k : int
        Up to ``k``, a list cut by :func:`serving.ranked.cut` equals the bundle's ``recommend(k)``.
    depth : int
        Exploration-pool services stored after them.
    residents : int
    nbytes : int
        Bytes of the mapped files (0 for in-memory lists).
    rules : tuple of RuleInputs, optional
        Per bucket, the residents' rule inputs in the rows of its lists file (:mod:`training.rule_inputs`);
        ``None`` for a version stored without them.
    """

    files: tuple[ListFile, ...]
    k: int
    depth: int
    residents: int
    nbytes: int = 0
    rules: tuple[RuleInputs, ...] | None = None

    def __len__(self) -> int:
        return self.residents

    def locate(self, resident_id: str) -> tuple[ListFile, int] | None:
        """The file and row holding a resident's list, or ``None`` when the lists do not cover them."""
        place = self._place(resident_id)
        return (self.files[place[0]], place[1]) if place is not None else None

    def rule_inputs(self, resident_id: str) -> tuple[RuleInputs, int] | None:
        """The stored rule inputs and row of a resident; ``None`` when not covered or stored without them."""
        place = self._place(resident_id) if self.rules is not None else None
        return (self.rules[place[0]], place[1]) if self.rules is not None and place is not None else None

    def _place(self, resident_id: str) -> tuple[int, int] | None:
        """Bucket and row of a resident, or ``None``."""
        hashed = resident_hash([resident_id])[0]
        bucket = int(hashed % np.uint64(len(self.files)))
        row = self.files[bucket].row_of(resident_id, hashed)
        return (bucket, row) if row >= 0 else None

    def ranked(self, resident_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        """A resident's stored services (internal ids) and scores in rank order; ``None`` when not covered."""
        found = self.locate(resident_id)
        if found is None:
            return None
        part, row = found
        span = part.span(row)
        return part.services[span], part.scores[span]

    @classmethod
    def of_table(cls, table: pa.Table, k: int, depth: int) -> ListStore:
        """Lists scored now (:func:`training.batch_lists.score_lists`), in one in-memory file."""
        return cls(files=(ListFile(table, "lists scored now"),), k=k, depth=depth, residents=table.num_rows)

    @classmethod
    def open(cls, folder: Path, manifest_sha256: str | None, residents: int, services: int) -> ListStore:
        """Check and memory-map the lists in ``folder``.

        Parameters
        ----------
        folder : Path
            Holding ``manifest.json`` and the bucket files.
        manifest_sha256 : str, optional
            The run's ``linli.lists.sha256`` tag; the manifest must match it.
        residents, services : int
            What the bundle knows: the lists must cover every resident and name only its services.

        Raises
        ------
        ListStoreError
            Anything missing, partial, altered or not matching the bundle.
        """
        path = Path(folder) / MANIFEST
        if not path.is_file():
            raise ListStoreError(f"the version has no stored lists ({path} is missing); retrain it with `linli train`")
        if manifest_sha256 is not None and sha256_of(path) != manifest_sha256:
            raise ListStoreError(f"{path} differs from the SHA-256 recorded on the run")
        try:
            manifest = json.loads(path.read_text())
            k, depth, entries = int(manifest["k"]), int(manifest["depth"]), list(manifest["files"])
            if manifest["format"] != FORMAT or manifest["services"] != services:
                raise ValueError(f"format {manifest['format']} for {manifest['services']} services")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ListStoreError(f"{path}: not a lists manifest of this version: {exc}") from exc
        if [e.get("bucket") for e in entries] != list(range(len(entries))) or not entries:
            raise ListStoreError(f"{path}: the bucket files are not numbered 0..n-1")
        files, rules, size = [], [], 0
        stored_rules = sum("rules" in e for e in entries)
        if stored_rules not in (0, len(entries)):
            raise ListStoreError(f"{path}: {stored_rules} of {len(entries)} buckets have rule inputs (partial)")
        for entry in entries:
            files.append(_map(Path(folder), entry, services))
            size += (Path(folder) / entry["file"]).stat().st_size
            if stored_rules:
                rules.append(_map_rules(Path(folder), entry, files[-1], services))
                size += (Path(folder) / entry["rules"]["file"]).stat().st_size
        total = sum(f.rows for f in files)
        if total != residents or total != manifest.get("residents"):
            raise ListStoreError(f"{path}: lists of {total} residents for a bundle of {residents} (partial lists)")
        return cls(files=tuple(files), k=k, depth=depth, residents=total, nbytes=size,
                   rules=tuple(rules) if stored_rules else None)


def _read(folder: Path, entry: dict[str, Any]) -> tuple[pa.Table, str]:
    """Check a bucket file named in the manifest against its SHA-256 and memory-map it."""
    name = str(entry.get("file", ""))
    path = folder / name
    if Path(name).name != name or not name.endswith(".arrow") or not path.is_file():
        raise ListStoreError(f"stored lists: bucket file {name!r} is missing")
    if sha256_of(path) != entry.get("sha256"):
        raise ListStoreError(f"stored lists: {name} differs from its SHA-256 in the manifest (corrupt or altered)")
    try:
        return ipc.open_file(pa.memory_map(str(path), "r")).read_all(), name
    except (OSError, pa.ArrowException) as exc:
        raise ListStoreError(f"stored lists: {name} is not a readable Arrow file: {exc}") from exc


def _map_rules(folder: Path, entry: dict[str, Any], lists: ListFile, services: int) -> RuleInputs:
    """A bucket's rule inputs, which must hold the rows of its lists file in the same order."""
    described = entry["rules"] if isinstance(entry.get("rules"), dict) else {}
    table, name = _read(folder, described)
    if not table.schema.equals(rule_inputs.SCHEMA) or table.num_rows != lists.rows:
        raise ListStoreError(f"stored lists: {name} is not the rule inputs of {entry.get('file')}")
    if not np.array_equal(table.column("resident_hash").to_numpy(), lists.hashes):
        raise ListStoreError(f"stored lists: {name} does not hold the rows of {entry.get('file')} in its order")
    try:
        return RuleInputs.of_table(table, services)
    except ValueError as exc:
        raise ListStoreError(f"stored lists: {name}: {exc}") from exc


def _map(folder: Path, entry: dict[str, Any], services: int) -> ListFile:
    table, name = _read(folder, entry)
    part = ListFile(table, name)
    if part.rows != entry.get("rows"):
        raise ListStoreError(f"stored lists: {name} holds {part.rows} rows, the manifest says {entry.get('rows')}")
    if len(part.services) and (int(part.services.max()) >= services or int(part.services.min()) < 0):
        raise ListStoreError(f"stored lists: {name} names services outside the catalogue")
    return part


__all__ = ["ListFile", "ListStore", "ListStoreError"]
