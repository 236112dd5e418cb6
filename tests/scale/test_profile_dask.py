"""``linli profile --engine dask`` gives the local engine's personas, segments and community types."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client

from features import Dataset
from features.columns import Columns as C
from features.errors import LinliDataError
from features.sources.partitioned import write_partitioned_folder
from features.sources.synthetic import SyntheticCommunity, read_ground_truth
from profiling import profile_dataset, summary
from scale.cluster import ClusterError, check_memory_limit
from scale.profile_dask import profile_on_cluster

SEED = 42


@pytest.fixture(scope="module")
def partitioned_dir(community: SyntheticCommunity, community_dir: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("partitioned")
    write_partitioned_folder(community.frames, folder, rows_per_part=700)
    (folder / "ground_truth.parquet").write_bytes((community_dir / "ground_truth.parquet").read_bytes())
    return folder


@pytest.fixture(scope="module")
def local_summary(dataset: Dataset, community_dir: Path) -> dict[str, object]:
    return dict(summary(profile_dataset(dataset, seed=SEED), read_ground_truth(community_dir)))


def test_dask_and_local_engines_give_equal_personas(dataset: Dataset, partitioned_dir: Path, client: Client,
                                                    local_summary: dict[str, object]) -> None:
    result = profile_on_cluster(client, partitioned_dir, seed=SEED, n_buckets=5)
    local = profile_dataset(dataset, seed=SEED)
    pd.testing.assert_frame_equal(result.tags, local.personas.tags)  # every resident, every persona
    pd.testing.assert_series_equal(result.segments, local.segments)
    assert dict(result.summary(read_ground_truth(partitioned_dir))) == local_summary
    assert result.buckets == 5


def test_single_files_profile_the_same_on_dask(community_dir: Path, client: Client,
                                               local_summary: dict[str, object]) -> None:
    result = profile_on_cluster(client, community_dir, seed=SEED, n_buckets=3)
    assert dict(result.summary(read_ground_truth(community_dir))) == local_summary


def test_a_sampled_segment_fit_still_assigns_every_resident(partitioned_dir: Path, client: Client,
                                                            local_summary: dict[str, object]) -> None:
    result = profile_on_cluster(client, partitioned_dir, seed=SEED, n_buckets=4, fit_sample=1000)
    report = result.summary()
    assert report["personas"] == local_summary["personas"]  # rules do not depend on the sample
    assert sum(s["residents"] for s in report["segment_descriptions"]) == report["residents"] == 3000
    assert result.segments.between(0, report["segments"] - 1).all()


def test_linli_profile_engine_dask_prints_the_local_summary(partitioned_dir: Path,
                                                            local_summary: dict[str, object]) -> None:
    done = subprocess.run([sys.executable, "-m", "linli", "profile", "--data", str(partitioned_dir), "--json",
                           "--seed", str(SEED), "--engine", "dask", "--workers", "2", "--memory-limit", "1GiB"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {**local_summary, "dropped": {}}


def test_an_existing_cluster_is_used_and_left_running(partitioned_dir: Path, client: Client,
                                                      local_summary: dict[str, object]) -> None:
    address = client.scheduler.address
    done = subprocess.run([sys.executable, "-m", "linli", "profile", "--data", str(partitioned_dir), "--json",
                           "--seed", str(SEED), "--engine", "dask", "--scheduler", address],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["personas"] == local_summary["personas"]
    assert len(client.scheduler_info()["workers"]) == 2  # still there for the next job


def test_bad_data_is_named_by_part_file_and_row(community: SyntheticCommunity, tmp_path: Path) -> None:
    frames = {name: frame.copy() for name, frame in community.frames.items()}
    frames["residents"][C.HOUSEHOLD_SIZE] = frames["residents"][C.HOUSEHOLD_SIZE].astype("Int64")
    frames["residents"].loc[1405, C.HOUSEHOLD_SIZE] = 99
    write_partitioned_folder(frames, tmp_path, rows_per_part=700)
    done = subprocess.run([sys.executable, "-m", "linli", "profile", "--data", str(tmp_path), "--engine", "dask",
                           "--workers", "1", "--memory-limit", "1GiB"], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert f"{tmp_path}/residents/part-00002.parquet, row 6, column 'household_size'" in done.stderr


def test_cluster_settings_are_checked_before_starting() -> None:
    assert check_memory_limit("6GiB") == 6 * 2**30
    with pytest.raises(ClusterError, match="--memory-limit 'lots': not a size"):
        check_memory_limit("lots")
    with pytest.raises(ClusterError, match="at least 256MiB"):
        check_memory_limit("10MB")


def test_an_unknown_engine_is_refused(community_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "linli", "profile", "--data", str(community_dir), "--engine",
                           "spark"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--engine spark: use local or dask" in done.stderr


def test_a_folder_without_residents_is_refused(community: SyntheticCommunity, tmp_path: Path,
                                               client: Client) -> None:
    frames = {**community.frames, "residents": community.frames["residents"].iloc[:0],
              "interactions": community.frames["interactions"].iloc[:0]}
    write_partitioned_folder(frames, tmp_path)
    with pytest.raises(LinliDataError, match="no residents; profiling needs at least one row"):
        profile_on_cluster(client, tmp_path)
