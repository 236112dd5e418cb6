"""SM4-GCM encryption of free text and small files at rest (``cryptography``'s SM4), keyed by
``LINLI_ENCRYPTION_KEY``.

Text becomes a token ``sm4g:<key id>:<base64 of nonce | ciphertext | tag>``. The nonce is a synthetic IV:
HMAC-SM3 of the text under a sub-key, so the same text under the same key gives the same token (the feedback
store's duplicate check compares tokens; equal comments are the only thing the tokens reveal). The key id
(8 hex digits of SM3 over the key) lets a wrong key be named as such; a token altered by a single bit fails the
GCM tag. Either way :class:`DecryptionError` is raised, never garbage returned.

Other modules that store free text (e.g. request texts) call :func:`encrypt_text` / :func:`decrypt_text`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from privacy.settings import privacy_settings

TOKEN_PREFIX: Final = "sm4g:"
FILE_HEADER: Final = b"LINLI-SM4-GCM\n"
_NONCE: Final = 12
_TAG: Final = 16


class EncryptionKeyError(ValueError):
    """``LINLI_ENCRYPTION_KEY`` is not 32 hex digits, or encrypted data is met while no key is set."""


class DecryptionError(ValueError):
    """A token or file cannot be decrypted: another key encrypted it, or it was altered."""


class Sm4Cipher:
    """Deterministic authenticated SM4-GCM encryption under one 128-bit key.

    Parameters
    ----------
    key : bytes
        16 bytes.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise EncryptionKeyError("an SM4 key is 16 bytes (32 hex digits)")
        self._key = key
        self._iv_key = hmac.digest(key, b"linli synthetic iv", "sm3")
        self.key_id = hashlib.new("sm3", key).hexdigest()[:8]

    def encrypt(self, plain: bytes) -> bytes:
        """``nonce | ciphertext | tag`` of ``plain``."""
        nonce = hmac.digest(self._iv_key, plain, "sm3")[:_NONCE]
        encryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        body = encryptor.update(plain) + encryptor.finalize()
        return nonce + body + encryptor.tag

    def decrypt(self, sealed: bytes, what: str = "data") -> bytes:
        """The plain bytes of :meth:`encrypt`'s output; :class:`DecryptionError` if altered or another key's."""
        if len(sealed) < _NONCE + _TAG:
            raise DecryptionError(f"{what} is too short to be SM4-GCM encrypted")
        nonce, body, tag = sealed[:_NONCE], sealed[_NONCE:-_TAG], sealed[-_TAG:]
        decryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        try:
            return decryptor.update(body) + decryptor.finalize()
        except InvalidTag as exc:
            raise DecryptionError(f"{what} fails its SM4-GCM integrity check: it was altered") from exc

    def encrypt_text(self, text: str) -> str:
        """A token for ``text`` (see the module)."""
        sealed = base64.b64encode(self.encrypt(text.encode())).decode("ascii")
        return f"{TOKEN_PREFIX}{self.key_id}:{sealed}"

    def decrypt_text(self, token: str) -> str:
        """The text of a token made by :meth:`encrypt_text` under this key."""
        key_id, sealed = _split(token)
        if key_id != self.key_id:
            raise DecryptionError(f"the text was encrypted under key id {key_id}, but LINLI_ENCRYPTION_KEY has key "
                                  f"id {self.key_id}: set the key it was stored with (or re-encrypt with "
                                  "`linli privacy rekey`)")
        return self.decrypt(base64.b64decode(sealed), "the encrypted text").decode()


def parse_key(value: str) -> bytes:
    """A 32-hex-digit ``LINLI_ENCRYPTION_KEY`` as 16 bytes; :class:`EncryptionKeyError` naming the setting."""
    try:
        key = bytes.fromhex(value.strip())
    except ValueError:
        key = b""
    if len(key) != 16:
        raise EncryptionKeyError("LINLI_ENCRYPTION_KEY must be 32 hex digits (a 128-bit SM4 key); "
                                 "`linli privacy keygen` prints a fresh one")
    return key


@lru_cache(maxsize=4)
def _for_key(value: str) -> Sm4Cipher:
    return Sm4Cipher(parse_key(value))


def cipher() -> Sm4Cipher | None:
    """The cipher of ``LINLI_ENCRYPTION_KEY``, or ``None`` when no key is set."""
    secret = privacy_settings().encryption_key
    return None if secret is None else _for_key(secret.get_secret_value())


def is_token(value: str) -> bool:
    """Whether ``value`` is an encrypted-text token."""
    return value.startswith(TOKEN_PREFIX)


def encrypt_text(text: str | None) -> str | None:
    """``text`` as stored: a token when ``LINLI_ENCRYPTION_KEY`` is set, else unchanged (``None`` stays)."""
    c = cipher()
    return text if text is None or c is None else c.encrypt_text(text)


def decrypt_text(value: str | None) -> str | None:
    """Stored text as written: tokens are decrypted, plain text (stored before a key was set) returned as is.

    Raises
    ------
    EncryptionKeyError
        A token is met while no key is set.
    DecryptionError
        The token was made under another key, or altered.
    """
    if value is None or not is_token(value):
        return value
    c = cipher()
    if c is None:
        raise EncryptionKeyError("the store holds SM4-encrypted text but LINLI_ENCRYPTION_KEY is not set")
    return c.decrypt_text(value)


def write_secret_file(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (mode 600), SM4-encrypted when ``LINLI_ENCRYPTION_KEY`` is set."""
    c = cipher()
    data = text.encode() if c is None else FILE_HEADER + c.encrypt_text(text).encode() + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_bytes(data)
    return path


def read_secret_file(path: Path) -> str:
    """The text of a file written by :func:`write_secret_file` (plain files are read as they are).

    Raises
    ------
    EncryptionKeyError, DecryptionError
        As :func:`decrypt_text`, naming the file.
    """
    data = path.read_bytes()
    if not data.startswith(FILE_HEADER):
        return data.decode()
    try:
        text = decrypt_text(data[len(FILE_HEADER):].decode().strip())
    except (EncryptionKeyError, DecryptionError) as exc:
        raise type(exc)(f"{path}: {exc}") from exc
    return text or ""


def _split(token: str) -> tuple[str, str]:
    parts = token.split(":", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise DecryptionError("not an SM4 text token (expected sm4g:<key id>:<data>)")
    return parts[1], parts[2]


def open_sealed_last(rows: Sequence[Sequence[Any]], at: int) -> list[tuple[Any, ...]]:
    """Rows without their last field (an SM4-sealed text, or ``None``), that text decrypted into field ``at``.

    Raises
    ------
    privacy.encryption.DecryptionError, privacy.encryption.EncryptionKeyError
        A text sealed under another key (or altered), or sealed text while no key is set.
    """
    out = []
    for row in rows:
        fields = list(row[:-1])
        if row[-1] is not None:
            fields[at] = decrypt_text(row[-1])
        out.append(tuple(fields))
    return out
