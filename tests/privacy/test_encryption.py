"""SM4-GCM at rest: comments in the store are ciphertext, read back as written; a wrong key or an altered token
is a clear error, never garbage."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from privacy.encryption import (
    DecryptionError,
    EncryptionKeyError,
    Sm4Cipher,
    decrypt_text,
    encrypt_text,
    parse_key,
    read_secret_file,
    write_secret_file,
)
from serving.feedback_models import FeedbackEvent, ServedItem, ServedList
from serving.store import FeedbackStore
from tests.privacy.conftest import ENCRYPTION_KEY

COMMENT = "社区食堂的饭菜很好，希望周末也开门"


def test_sm4_matches_the_standard_vector() -> None:
    # GB/T 32907-2016, appendix A example 1: one block under key = plaintext = 0123456789abcdeffedcba9876543210
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (encryptor.update(key) + encryptor.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_text_round_trips_and_a_wrong_or_altered_token_is_refused() -> None:
    mine = Sm4Cipher(parse_key(ENCRYPTION_KEY))
    token = mine.encrypt_text(COMMENT)
    assert COMMENT not in token and mine.decrypt_text(token) == COMMENT
    with pytest.raises(DecryptionError, match=r"encrypted under key id .* set the key it was stored with"):
        Sm4Cipher(bytes(16)).decrypt_text(token)
    head, body = token.rsplit(":", 1)
    flipped = body[:-6] + ("A" if body[-6] != "A" else "B") + body[-5:]
    with pytest.raises(DecryptionError, match="altered"):
        mine.decrypt_text(f"{head}:{flipped}")


def test_a_bad_key_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", "not-hex")
    with pytest.raises(EncryptionKeyError, match="LINLI_ENCRYPTION_KEY must be 32 hex digits"):
        encrypt_text("x")
    monkeypatch.delenv("LINLI_ENCRYPTION_KEY")
    assert encrypt_text("plain") == "plain"
    with pytest.raises(EncryptionKeyError, match="LINLI_ENCRYPTION_KEY is not set"):
        decrypt_text(Sm4Cipher(parse_key(ENCRYPTION_KEY)).encrypt_text("x"))


def test_a_secret_file_is_sealed_and_a_wrong_key_names_the_file(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", ENCRYPTION_KEY)
    path = write_secret_file(tmp_path / "api_keys", "admin:secret-admin-key\n")
    assert b"secret-admin-key" not in path.read_bytes() and path.stat().st_mode & 0o777 == 0o600
    assert read_secret_file(path) == "admin:secret-admin-key\n"
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", "ff" * 16)
    with pytest.raises(DecryptionError, match=f"{path}: the text was encrypted under key id"):
        read_secret_file(path)


def _served(request_id: str, resident: str) -> ServedList:
    return ServedList(request_id=request_id, resident_id=resident, model_version="1", items=[
        ServedItem(service_id="S1", position=1, score=1.0)], served_at=datetime(2026, 11, 2, 8))


def _comment(request_id: str, resident: str, text: str) -> FeedbackEvent:
    return FeedbackEvent(request_id=request_id, resident_id=resident, service_id="S1", event="rate", rating=5,
                         comment=text, timestamp=datetime(2026, 11, 2, 9))


@pytest.mark.usefixtures("keys")
def test_comments_are_ciphertext_in_the_store_and_plain_when_read(store: FeedbackStore) -> None:
    store.log_served_many([_served("q1", "R1"), _served("q2", "R2")])
    assert store.add_events([_comment("q1", "R1", COMMENT), _comment("q2", "R2", "too far")]) == 2
    assert store.add_events([_comment("q1", "R1", COMMENT)]) == 0  # a retried event is still a duplicate
    assert store.add_events([_comment("q1", "R1", COMMENT + "!")]) == 1  # another comment is another event
    table = store._tables.feedback_events
    with store._db.read("test") as conn:
        raw = conn.execute(sa.select(table.c.comment, table.c.comment_sm4)).all()
    assert all(plain is None and sealed.startswith("sm4g:") for plain, sealed in raw)
    assert not any(COMMENT in sealed for _, sealed in raw)
    assert sorted(store.events()["comment"]) == sorted([COMMENT, COMMENT + "!", "too far"])


def test_a_store_read_with_the_wrong_key_says_so(store: FeedbackStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", ENCRYPTION_KEY)
    store.log_served(_served("q1", "R1"))
    store.add_events([_comment("q1", "R1", COMMENT)])
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", "ab" * 16)
    with pytest.raises(DecryptionError, match="encrypted under key id"):
        store.events()
