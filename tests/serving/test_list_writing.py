"""Lists written by a process pool are the files one process writes, bucket for bucket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serving.list_store import ListStore
from serving.model_holder import ModelHolder
from training.batch_lists import MANIFEST, WORKERS_ENV, list_workers, write_lists


def test_parallel_and_serial_writing_give_the_same_lists(holder: ModelHolder, tmp_path: Path) -> None:
    bundle = holder.current.bundle
    serial = write_lists(bundle, tmp_path / "serial", workers=1)
    parallel = write_lists(bundle, tmp_path / "parallel", workers=2)
    one, two = json.loads(serial.read_text()), json.loads(parallel.read_text())
    assert one == two  # every file's rows and SHA-256, the lists' and the rule inputs'
    assert len(one["files"]) >= 2 and all("rules" in entry for entry in one["files"])
    for folder in (serial.parent, parallel.parent):
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [MANIFEST] + [e["file"] for e in one["files"]] + [e["rules"]["file"] for e in one["files"]])
    opened = ListStore.open(parallel.parent, None, len(bundle.resident_ids()), len(bundle.service_ids()))
    assert opened.rules is not None and len(opened) == len(bundle.resident_ids())


def test_list_workers_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert list_workers() >= 1
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert list_workers() == 3
    monkeypatch.setenv(WORKERS_ENV, "0")
    with pytest.raises(ValueError, match=WORKERS_ENV):
        list_workers()
