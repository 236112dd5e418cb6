"""Issue 20 on a real server: ``linli serve --ssl-certfile/--ssl-keyfile`` answers HTTPS, and a key sent in the
query string never reaches the access log; MLflow holds no resident id in an input example."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from experiments.local_server import free_port, stop
from features import Dataset
from serving.settings import ServingSettings
from tests.serving.conftest import API_KEYS, KEYS, Registry


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with `cryptography`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_and_no_key_in_the_access_log(settings: ServingSettings, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_API_KEYS")}
    env |= {"OPENBLAS_NUM_THREADS": "1", "LINLI_DATA_DIR": str(tmp_path), "LINLI_MODEL_NAME": settings.model_name,
            "LINLI_MLFLOW_TRACKING_URI": settings.tracking_uri(), "LINLI_CACHE_DIR": str(settings.cache_dir),
            "LINLI_API_KEYS": API_KEYS, "LINLI_PRECOMPUTE_WORKERS": "1"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "linli", "serve", "--port", str(port), "--ssl-certfile",
                                    str(cert), "--ssl-keyfile", str(key)], env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    url = f"https://127.0.0.1:{port}"
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=str(cert)), timeout=10) as client:
            wait_ready_https(client, url, process, log)
            leaked = client.get(f"{url}/models", params={"api_key": KEYS["admin"], "level": "district"})
            assert leaked.status_code == 401 and KEYS["admin"] not in leaked.text
            served = client.get(f"{url}/segments", params={"token": KEYS["planner"]},
                                headers={"X-API-Key": KEYS["planner"]})
            assert served.status_code == 200 and served.headers["Cache-Control"] == "no-store"
    finally:
        stop(process)
    text = log.read_text()
    assert f"Linli API on https://127.0.0.1:{port}" in text
    assert "GET /models?api_key=[redacted]&level=district" in text  # the access log keeps the call, not the key
    for secret in KEYS.values():
        assert secret not in text


def wait_ready_https(client: httpx.Client, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for ``/ready`` over HTTPS (the shared helper speaks plain HTTP)."""
    import time

    deadline, last = time.monotonic() + 180, "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {log.read_text()[-2000:]}")
        try:
            answer = client.get(f"{url}/ready")
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text[:300]}"
        except httpx.TransportError as exc:
            last = repr(exc)
        time.sleep(0.5)
    raise AssertionError(f"never ready ({last}): {log.read_text()[-2000:]}")


def test_mlflow_holds_no_resident_in_an_input_example(registry: Registry, dataset: Dataset) -> None:
    artifacts = registry.cache_dir.parent / "art"
    names = {p.name for p in artifacts.rglob("*") if p.is_file()}
    assert "MLmodel" in names
    assert not names & {"input_example.json", "serving_input_example.json"}
    residents = set(dataset.residents["resident_id"].astype(str))
    for path in artifacts.rglob("*"):
        if path.is_file() and path.suffix in ("", ".json", ".yaml", ".txt") and path.stat().st_size < 1_000_000:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not any(r in text for r in list(residents)[:2000]), path
            if path.name == "MLmodel":
                assert "resident_id" in text  # the signature still documents the input
