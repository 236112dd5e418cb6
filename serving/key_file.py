"""API keys at rest: salted SM3 digests (scrypt where OpenSSL lacks SM3), never the key itself.

A key file holds one key per line, ``key_id:role:algorithm:salt:digest`` (``#`` comments), written by
``linli keys new|rotate|revoke|import`` with mode 600 and replaced atomically. With ``LINLI_ENCRYPTION_KEY`` set,
the lines are written SM4-GCM sealed (one token after a comment line), so the file shows neither the key ids nor
the digests; a sealed file read under another key, or without one, is a clear error. A plain file written before
the key was set still reads, and is sealed at its next change. A running server re-reads the
file whenever it changes (:class:`KeyRing` checks its identity on every request, a ``stat`` call), so a new key
works and a revoked one stops at once, in every process, without a restart. A key is shown once, when it is
made; only its id is ever logged or audited.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from privacy.encryption import DecryptionError, EncryptionKeyError, cipher, decrypt_text, is_token

#: Digest of keys at rest: SM3 (GM/T 0004) where the platform's OpenSSL has it, else scrypt.
ALGORITHM: Final = "sm3" if "sm3" in hashlib.algorithms_available else "scrypt"
_HEADER: Final = "# Linli API keys: key_id:role:algorithm:salt:digest (written by `linli keys`; no key is stored)\n"
_SEALED_HEADER: Final = "# Linli API keys, SM4-GCM sealed with LINLI_ENCRYPTION_KEY (written by `linli keys`)\n"


class KeyFileError(ValueError):
    """A key file cannot be read or holds a malformed line (the message never contains a key)."""


def key_digest(key: str, salt: bytes, algorithm: str = ALGORITHM) -> bytes:
    """The digest of ``key`` with ``salt`` as stored in a key file."""
    data = key.encode("utf-8")
    if algorithm == "sm3":
        return hashlib.new("sm3", salt + data).digest()
    if algorithm == "scrypt":
        return hashlib.scrypt(data, salt=salt, n=2**14, r=8, p=1, dklen=32)
    raise KeyFileError(f"unknown key digest algorithm {algorithm!r}; use sm3 or scrypt")


def sm3_hex(data: bytes) -> str:
    """SM3 of ``data`` in hex (SHA-256 where the platform's OpenSSL has no SM3)."""
    return (hashlib.new("sm3", data) if ALGORITHM == "sm3" else hashlib.sha256(data)).hexdigest()


@dataclass(frozen=True)
class KeyEntry:
    """One stored key: its public id, role, and salted digest."""

    key_id: str
    role: str
    algorithm: str
    salt: bytes
    digest: bytes

    def matches(self, key: str) -> bool:
        """Whether ``key`` is this key (constant-time comparison)."""
        return hmac.compare_digest(key_digest(key, self.salt, self.algorithm), self.digest)

    def line(self) -> str:
        """The entry as a key-file line."""
        return f"{self.key_id}:{self.role}:{self.algorithm}:{self.salt.hex()}:{self.digest.hex()}"


def new_entry(role: str, key_id: str | None = None, key: str | None = None) -> tuple[KeyEntry, str]:
    """A fresh random key (or ``key``) for ``role`` and its stored entry."""
    key = key or secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    entry = KeyEntry(key_id or f"k{secrets.token_hex(4)}", role, ALGORITHM, salt, key_digest(key, salt))
    return entry, key


def parse_file(text: str, source: str, roles: frozenset[str]) -> list[KeyEntry]:
    """The entries of a key file; a plain ``role:key`` line is refused (it would keep a key on disk)."""
    entries: list[KeyEntry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 5 or parts[2] not in ("sm3", "scrypt"):
            raise KeyFileError(f"{source}, line {number}: not a hashed key (key_id:role:algorithm:salt:digest); "
                               f"a plain role:key file is converted by `linli keys import {source}`")
        key_id, role, algorithm, salt, digest = parts
        if role not in roles:
            raise KeyFileError(f"{source}, line {number}: unknown role {role!r}; use one of {', '.join(sorted(roles))}")
        try:
            entries.append(KeyEntry(key_id, role, algorithm, bytes.fromhex(salt), bytes.fromhex(digest)))
        except ValueError as exc:
            raise KeyFileError(f"{source}, line {number}: salt and digest must be hex") from exc
    ids = [e.key_id for e in entries]
    if len(set(ids)) != len(ids):
        raise KeyFileError(f"{source}: a key id appears twice")
    return entries


def read_file(path: Path, roles: frozenset[str]) -> list[KeyEntry]:
    """The entries of the key file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyFileError(f"cannot read LINLI_API_KEYS_FILE {path}: {exc.strerror}") from exc
    return parse_file(_unsealed(text, path), str(path), roles)


def _unsealed(text: str, path: Path) -> str:
    """The key lines of a file's text: a sealed file's token decrypted, a plain file as it is."""
    body = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if len(body) != 1 or not is_token(body[0]):
        return text
    try:
        return decrypt_text(body[0]) or ""
    except (DecryptionError, EncryptionKeyError) as exc:
        raise KeyFileError(f"LINLI_API_KEYS_FILE {path} is SM4-sealed and cannot be opened: {exc}; set the "
                           "LINLI_ENCRYPTION_KEY it was written with") from exc


def write_file(path: Path, entries: list[KeyEntry]) -> None:
    """Replace the key file at ``path`` atomically with ``entries`` (mode 600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".keys-", dir=path.parent)  # mkstemp makes it mode 600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            lines = "".join(e.line() + "\n" for e in entries)
            sealed = cipher()
            out.write(_SEALED_HEADER + sealed.encrypt_text(lines) + "\n" if sealed is not None else _HEADER + lines)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class KeyRing:
    """Keys in force: those of ``LINLI_API_KEYS`` (in memory) plus the key file, re-read when it changes.

    Parameters
    ----------
    fixed : list of KeyEntry
        Keys from the environment (digested with a per-process salt).
    path : Path, optional
        The key file.
    roles : frozenset of str
        Valid role names.
    """

    def __init__(self, fixed: list[KeyEntry], path: Path | None, roles: frozenset[str]) -> None:
        self.fixed = fixed
        self.path = path
        self.roles = roles
        self._identity: tuple[int, int, int] | None = None
        self._from_file: list[KeyEntry] = []
        self._lock = threading.Lock()
        if path is not None:
            self._from_file = read_file(path, roles)  # a broken file at start-up is an error
            self._identity = _identity(path)

    def entries(self) -> list[KeyEntry]:
        """Every key in force now (the file is re-read if it changed; unreadable, its keys are refused)."""
        if self.path is None:
            return self.fixed
        try:
            identity: tuple[int, int, int] | None = _identity(self.path)
        except OSError:
            identity = None
        if identity != self._identity:
            with self._lock:
                try:
                    self._from_file = read_file(self.path, self.roles) if identity else []
                except KeyFileError:
                    self._from_file = []  # fail closed: a revoked key must not survive a bad edit
                self._identity = identity
        return self.fixed + self._from_file

    def identify(self, key: str) -> KeyEntry | None:
        """The entry of ``key``, or ``None``; every key in force is compared."""
        found = None
        for entry in self.entries():
            if entry.matches(key) and found is None:
                found = entry
        return found

    def by_id(self, key_id: str) -> KeyEntry | None:
        """The entry with id ``key_id`` if it is still in force."""
        return next((e for e in self.entries() if hmac.compare_digest(e.key_id, key_id)), None)

    def __len__(self) -> int:
        return len(self.entries())


def _identity(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return status.st_ino, status.st_mtime_ns, status.st_size


__all__ = ["ALGORITHM", "KeyEntry", "KeyFileError", "KeyRing", "key_digest", "new_entry", "parse_file",
           "read_file", "sm3_hex", "write_file"]
