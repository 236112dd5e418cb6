"""Resident buckets: a stable hash (the same in every process), and every resident's rows in one bucket."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client

from features.columns import Columns as C
from features.sources.partitioned import write_partitioned_folder
from features.sources.synthetic import SyntheticCommunity
from scale.buckets import bucket_of, default_buckets, resident_hash
from scale.engine import Bucket, bucket_data
from scale.parts import folder_parts

IDS = ["R000001", "R000002", "R123456", "居民-7", "101"]


def test_the_hash_is_fixed_text_hashing_not_pythons_salted_hash() -> None:
    # Written down once: a change here moves every resident of every stored bucketing to another bucket.
    assert resident_hash(["R000001"]).tolist() == [6963295797297841640]
    assert bucket_of(IDS, 16).tolist() == [8, 1, 5, 14, 8]
    assert bucket_of([101], 16).tolist() == bucket_of(["101"], 16).tolist()  # ids compare as text


def test_buckets_are_the_same_in_another_process_with_another_hash_seed() -> None:
    code = ("from scale.buckets import bucket_of; "
            f"print(bucket_of({IDS!r}, 16).tolist(), hash('R000001'))")
    outputs = []
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        outputs.append(done.stdout.split(" "))
    assert outputs[0][-1] != outputs[1][-1]  # Python's own hash differs between the two processes ...
    assert outputs[0][:-1] == outputs[1][:-1] == str(bucket_of(IDS, 16).tolist()).split(" ")  # ... ours does not


def test_bucket_count_is_checked() -> None:
    with pytest.raises(ValueError, match="n_buckets must be at least 1"):
        bucket_of(IDS, 0)
    assert default_buckets(1_000_000, 2) == 20
    assert default_buckets(3000, 2) == 4


def _contents(bucket: Bucket) -> tuple[np.ndarray, pd.DataFrame]:
    return bucket.dataset.residents[C.RESIDENT].to_numpy(dtype=object), bucket.dataset.interactions


def test_every_residents_rows_stay_together(community: SyntheticCommunity, tmp_path: Path, client: Client) -> None:
    write_partitioned_folder(community.frames, tmp_path, rows_per_part=700)
    data = bucket_data(client, folder_parts(tmp_path), n_buckets=5, now="2030-01-01")
    contents = client.gather(client.map(_contents, data.buckets))
    client.cancel(data.buckets)
    home: dict[str, int] = {}
    for b, (residents, events) in enumerate(contents):
        for rid in residents:
            assert rid not in home, f"{rid} is in buckets {home[rid]} and {b}"
            home[rid] = b
        assert set(events[C.RESIDENT].astype(object)) <= set(residents)  # its events came with it
        assert set(bucket_of(residents, 5)) <= {b}
    assert len(home) == data.n_residents == len(community.frames["residents"])
    assert sum(len(events) for _, events in contents) == len(community.frames["interactions"])
    expected = pd.to_datetime(community.frames["interactions"][C.TIMESTAMP]).max().normalize() + pd.Timedelta(days=1)
    assert data.cutoff == expected
