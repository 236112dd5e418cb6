"""The ``linli`` command line as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from features.sources import load_folder


def _user_env(*also_unset: str) -> dict[str, str]:
    """This process's environment as a user's shell would have it.

    mlflow.set_tracking_uri() in other tests of this process exports MLFLOW_*_URI; a user's shell has none.
    """
    unset = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", *also_unset)
    return {k: v for k, v in os.environ.items() if not k.startswith(unset)}


def _linli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linli", *args], capture_output=True, text=True, timeout=300,
                          env={**_user_env(), **(env or {})})


def test_generate_writes_the_tables_the_loader_reads(tmp_path: Path) -> None:
    done = _linli("generate", "--residents", "800", "--seed", "5", "--out", str(tmp_path / "c"))
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert names == ["communities.parquet", "ground_truth.parquet", "interactions.parquet",
                     "residents.parquet", "services.parquet"]
    assert load_folder(tmp_path / "c").summary()["residents"] == 800


def test_generate_rejects_a_bad_size(tmp_path: Path) -> None:
    done = _linli("generate", "--residents", "0", "--out", str(tmp_path))
    assert done.returncode != 0
    assert "--residents" in done.stderr


def test_profile_json_has_the_promised_keys(community_dir: Path) -> None:
    done = _linli("profile", "--data", str(community_dir), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["residents"] == 3000
    assert set(report["personas"]) >= {"elderly", "family_with_children", "commuter", "migrant",
                                       "accessibility_needs", "student", "job_seeker"}
    assert report["segments"] >= 2
    assert 0.0 <= report["recovery"]["segment_ari"] <= 1.0
    assert report["recovery"]["macro_f1"] > 0.9


def test_profile_reads_a_database_url(community, tmp_path: Path) -> None:
    from features.sources import write_sql

    url = f"sqlite:///{tmp_path / 'community.db'}"
    write_sql({name: frame.astype({c: "string" for c in frame.select_dtypes("category")})
               for name, frame in community.frames.items()}, url)
    done = _linli("profile", "--data", url, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["residents"] == 3000 and "recovery" not in report


def test_profile_on_bad_data_names_file_row_and_column(community_dir: Path, tmp_path: Path) -> None:
    import pandas as pd

    bad = tmp_path / "bad"
    bad.mkdir()
    for f in community_dir.iterdir():
        if f.name != "ground_truth.parquet":
            (bad / f.name).write_bytes(f.read_bytes())
    residents = pd.read_parquet(bad / "residents.parquet").astype({"employment": object})
    residents.loc[41, "employment"] = "astronaut"
    residents.to_parquet(bad / "residents.parquet")
    done = _linli("profile", "--data", str(bad), "--json")
    assert done.returncode == 2
    assert "residents.parquet, row 42, column 'employment'" in done.stderr
    assert done.stdout == ""


def test_demo_runs_the_main_job_as_far_as_it_exists(tmp_path: Path) -> None:
    done = _linli("demo", "--residents", "1500", "--seed", "3", "--no-serve", env={"LINLI_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "personas:" in done.stdout and "macro F1" in done.stdout
    assert "trained linli-recommender version 1 (champion)" in done.stdout
    assert (tmp_path / "community-1500-seed3" / "interactions.parquet").exists()
    assert (tmp_path / "mlflow.db").exists() and (tmp_path / "mlartifacts").is_dir()


def test_train_json_names_version_promotion_and_every_model(community_dir: Path, tmp_path: Path) -> None:
    env = {"LINLI_DATA_DIR": str(tmp_path)}
    done = _linli("train", "--data", str(community_dir), "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["model_version"] == "1" and report["promoted"] is True
    assert set(report["metrics"]) == {"hybrid", "als", "bpr", "ease", "popular", "persona_popular", "item_knn",
                                      "personal_frequency"}
    assert all("ndcg@10" in m for m in report["metrics"].values())
    assert "elderly" in report["per_persona_ndcg@10"]


def test_train_rejects_a_bad_config_naming_the_key(community_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[hybrid.ranker]\nlearning_rat = 0.1\n", encoding="utf-8")
    done = _linli("train", "--data", str(community_dir), "--config", str(bad), env={"LINLI_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert "learning_rat" in done.stderr


def test_bench_foundation_reports_every_stage_with_memory() -> None:
    done = _linli("bench", "foundation", "--sizes", "600", "--json")
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)["results"][0]
    assert row["residents"] == 600 and row["interactions"] > 0
    assert set(row["stages"]) == {"generate", "write_parquet", "load_validate", "features", "personas"}
    assert all(stage["peak_rss_mib"] > 0 for stage in row["stages"].values())


@pytest.mark.parametrize("sizes", ["abc", "0"])
def test_bench_rejects_bad_sizes(sizes: str) -> None:
    done = _linli("bench", "foundation", "--sizes", sizes)
    assert done.returncode == 2
    assert "--sizes" in done.stderr


def test_demo_ends_with_the_api_serving_the_champion(tmp_path: Path) -> None:
    import contextlib
    import socket
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "linli", "demo", "--residents", "1200", "--seed", "4",
                                "--port", str(port)],
                               env={**_user_env("LINLI_API_KEYS"), "LINLI_DATA_DIR": str(tmp_path)},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        ready = False
        while time.monotonic() < deadline and process.poll() is None and not ready:
            with contextlib.suppress(httpx.TransportError):  # not listening yet
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200
            time.sleep(1)
        assert ready, "the demo's API never became ready"
        key = subprocess.run([sys.executable, "-m", "linli", "keys", "new", "--role", "platform"],
                             env={**_user_env("LINLI_API_KEYS"), "LINLI_DATA_DIR": str(tmp_path)},
                             capture_output=True, text=True, check=True).stdout.strip()  # the file holds digests only
        answer = httpx.get(f"http://127.0.0.1:{port}/recommendations/R0000001?k=3", headers={"X-API-Key": key},
                           timeout=10)
        assert answer.status_code == 200 and answer.json()["model_version"] == "1"
        assert len(answer.json()["data"]) == 3
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert f"Linli API on http://127.0.0.1:{port}" in output
