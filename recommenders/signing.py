"""Signed, private artifact files: an HMAC-SHA256 over every file Linli writes for a model, checked before the
file is read.

The key comes from ``LINLI_ARTIFACT_KEY`` (any string of 16 characters or more). When that is unset, a random
key is kept in ``LINLI_ARTIFACT_KEY_FILE`` (default ``<LINLI_DATA_DIR>/artifact.key``), created with mode 600 the
first time an artifact is written; reading never creates one, so a model can only be loaded where its key is.
Every file and folder written here is readable by its owner only (files 600, folders 700).

A signed file is ``MAGIC``, one JSON header line (``kind``, ``sha256``, ``hmac``) and the payload. The HMAC
covers the kind and the payload's SHA-256, so neither can be changed without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from recommenders.errors import ModelFileError

logger = logging.getLogger(__name__)
MAGIC = b"LINLI-SIGNED-1\n"
MIN_KEY_LENGTH = 16
_HEADER_LIMIT = 4096


class ArtifactKeySettings(BaseSettings):
    """Where the artifact key comes from (the same ``LINLI_*`` variables as :class:`linli.settings.Settings`)."""

    model_config = SettingsConfigDict(env_prefix="LINLI_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    artifact_key: SecretStr | None = None
    artifact_key_file: Path | None = None

    def key_file(self) -> Path:
        """The key file in force when no key is set."""
        return self.artifact_key_file or self.data_dir / "artifact.key"


def artifact_key(create: bool = False) -> bytes:
    """The HMAC key for artifacts: ``LINLI_ARTIFACT_KEY``, else the key file (made, mode 600, when ``create``).

    Raises
    ------
    ModelFileError
        If the key is too short, or no key is set and the key file is missing (and not ``create``).
    """
    settings = ArtifactKeySettings()
    if settings.artifact_key is not None:
        key = settings.artifact_key.get_secret_value()
        if len(key) < MIN_KEY_LENGTH:
            raise ModelFileError(f"LINLI_ARTIFACT_KEY must be at least {MIN_KEY_LENGTH} characters long")
        return key.encode()
    path = settings.key_file()
    if not path.exists():
        if not create:
            raise ModelFileError(f"no artifact key to verify model files with: set LINLI_ARTIFACT_KEY, or "
                                 f"LINLI_ARTIFACT_KEY_FILE to the key file training wrote (looked for {path})")
        write_private(path, secrets.token_hex(32).encode(), exclusive=True)
        logger.warning("LINLI_ARTIFACT_KEY is unset: artifacts are signed with a new key kept in %s", path)
    key_text = path.read_bytes().strip()
    if len(key_text) < MIN_KEY_LENGTH:
        raise ModelFileError(f"the artifact key file {path} holds fewer than {MIN_KEY_LENGTH} characters")
    return key_text


def private_dir(path: Path) -> Path:
    """Make ``path`` (and missing parents) and restrict it to its owner (mode 700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, data: bytes, exclusive: bool = False) -> Path:
    """Write ``data`` to ``path`` with mode 600 from the first byte (replacing it atomically unless ``exclusive``)."""
    private_dir(path.parent)
    if exclusive:
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return path
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        return path
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(partial, 0o600)
    os.replace(partial, path)
    return path


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sign(message: bytes, key: bytes | None = None) -> str:
    """HMAC-SHA256 of ``message`` with the artifact key (made when missing), in hex."""
    return hmac.new(key or artifact_key(create=True), message, hashlib.sha256).hexdigest()


def check_signature(message: bytes, signature: str, what: str) -> None:
    """Raise :class:`ModelFileError` unless ``signature`` is the HMAC of ``message`` (``what`` names the file)."""
    expected = hmac.new(artifact_key(), message, hashlib.sha256).hexdigest()
    if not isinstance(signature, str) or not hmac.compare_digest(expected, signature):
        raise ModelFileError(f"{what}: the signature does not match the artifact key (tampered, or signed "
                             "with another key); refusing to read it")


def write_signed(path: str | Path, payload: bytes, kind: str) -> Path:
    """Write ``payload`` as a signed, private file labelled ``kind``."""
    digest = hashlib.sha256(payload).hexdigest()
    header = {"kind": kind, "sha256": digest, "hmac": sign(f"{kind}\n{digest}".encode())}
    return write_private(Path(path), MAGIC + json.dumps(header).encode() + b"\n" + payload)


def read_signed(path: str | Path) -> tuple[str, bytes]:
    """The kind and payload of a file written by :func:`write_signed`, after checking its SHA-256 and HMAC.

    Raises
    ------
    ModelFileError
        The file is missing, unsigned, damaged or signed with another key.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read a Linli model file: {exc}") from exc
    if not data.startswith(MAGIC):
        raise ModelFileError(f"{path}: not a signed Linli model file (files from before signing must be "
                             "retrained); refusing to read it")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _HEADER_LIMIT)
    try:
        header = json.loads(data[len(MAGIC):end]) if end > 0 else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or not isinstance(header.get("kind"), str):
        raise ModelFileError(f"{path}: the signed header is damaged; refusing to read it")
    payload = data[end + 1:]
    digest = hashlib.sha256(payload).hexdigest()
    if digest != header.get("sha256"):
        raise ModelFileError(f"{path}: the SHA-256 of the content does not match its header (damaged or "
                             "tampered); refusing to read it")
    check_signature(f"{header['kind']}\n{digest}".encode(), header.get("hmac", ""), str(path))
    return header["kind"], payload


MANIFEST = "manifest.json"


def write_manifest(folder: str | Path) -> dict[str, str]:
    """Sign a folder: write ``manifest.json`` with the SHA-256 of every other file in it and an HMAC over them.

    Returns the files' SHA-256 by relative path (``/``-separated).
    """
    folder = Path(folder)
    files = {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*"))
             if p.is_file() and p.name != MANIFEST}
    body = json.dumps(files, sort_keys=True)
    write_private(folder / MANIFEST, json.dumps({"files": files, "hmac": sign(body.encode())}, indent=1).encode())
    return files


def verify_manifest(folder: str | Path) -> dict[str, str]:
    """Check a folder signed by :func:`write_manifest`: the manifest's HMAC, then that exactly its files are
    there with their SHA-256. Returns the files' SHA-256 by relative path.

    Raises
    ------
    ModelFileError
        The manifest is missing, damaged or signed with another key, or a file is missing, added or changed.
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_bytes())
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not an object")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{folder}: no readable signed manifest ({MANIFEST}): {exc}; refusing to read "
                             "the model (bundles from before signing must be retrained)") from exc
    check_signature(json.dumps(files, sort_keys=True).encode(), manifest.get("hmac", ""), str(folder / MANIFEST))
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}
    if present != set(files):
        unexpected = sorted(present ^ set(files))[:5]
        raise ModelFileError(f"{folder}: files differ from the signed manifest ({', '.join(unexpected)}); "
                             "refusing to read the model")
    for name, digest in files.items():
        if sha256_file(folder / name) != digest:
            raise ModelFileError(f"{folder / name}: the SHA-256 does not match the signed manifest (damaged or "
                                 "tampered); refusing to read the model")
    return dict(files)


__all__ = ["MANIFEST", "ArtifactKeySettings", "artifact_key", "check_signature", "private_dir", "read_signed",
           "sha256_file", "sign", "verify_manifest", "write_manifest", "write_private", "write_signed"]
