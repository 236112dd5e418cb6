"""``linli serve``: serves the champion on loopback; without configured keys it writes a private file of hashed
keys, and a key made later with ``linli keys new`` works at once."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from experiments.local_server import free_port, stop, wait_ready
from serving.settings import ServingSettings


def test_serve_without_keys_writes_a_keys_file_and_serves(settings: ServingSettings, tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("LINLI_API_KEYS")}
    env |= {"OPENBLAS_NUM_THREADS": "1", "LINLI_DATA_DIR": str(tmp_path), "LINLI_MODEL_NAME": settings.model_name,
            "LINLI_MLFLOW_TRACKING_URI": settings.tracking_uri(), "LINLI_CACHE_DIR": str(settings.cache_dir)}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "linli", "serve", "--port", str(port)], env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process, 120, log)
        keys_file = tmp_path / "api_keys"
        assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
        made = subprocess.run([sys.executable, "-m", "linli", "keys", "new", "--role", "platform"], env=env,
                              capture_output=True, text=True, check=True)
        platform_key = made.stdout.strip()
        assert platform_key not in keys_file.read_text()  # only its salted SM3 digest
        answer = httpx.get(f"{url}/recommendations/R0000001", headers={"X-API-Key": platform_key})
        assert answer.status_code == 200 and answer.json()["model_version"] == "1"
        assert httpx.get(f"{url}/recommendations/R0000001").status_code == 401
    finally:
        stop(process)
    output = log.read_text()
    assert f"http://127.0.0.1:{port}" in output and str(keys_file) in output
    assert platform_key not in output
