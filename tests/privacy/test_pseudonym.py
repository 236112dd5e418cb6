"""HMAC-SM3 pseudonyms: the right digest, the id rule, idempotence, and every loader applying them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from features.schema import MAX_ID_LENGTH
from features.sources import load_folder, load_sql, write_sql
from features.sources.synthetic import SyntheticCommunity, generate_community
from privacy.pseudonym import Pseudonymiser, PseudonymKeyError, is_pseudonym, pseudonymise, pseudonymise_frames
from tests.privacy.conftest import PSEUDONYM_KEY


def _hmac_sm3_by_hand(key: bytes, message: bytes) -> str:
    """RFC 2104 over SM3 (64-byte blocks), written out: an independent check of hmac's 'sm3'."""
    block = 64
    key = key.ljust(block, b"\0")
    inner = hashlib.new("sm3", bytes(b ^ 0x36 for b in key) + message).digest()
    return hashlib.new("sm3", bytes(b ^ 0x5C for b in key) + inner).hexdigest()


def test_sm3_of_the_standard_vector() -> None:
    # GB/T 32905-2016, example 1: SM3("abc")
    assert hashlib.new("sm3", b"abc").hexdigest() == \
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_a_pseudonym_is_hmac_sm3_and_fits_the_id_rule() -> None:
    p = Pseudonymiser(PSEUDONYM_KEY.encode())
    pseudonym = p.one("R0000001")
    assert pseudonym == "ps_" + _hmac_sm3_by_hand(PSEUDONYM_KEY.encode(), b"R0000001")[:60]
    assert len(pseudonym) <= MAX_ID_LENGTH and is_pseudonym(pseudonym)
    assert p.many(["R0000001", "R0000002", pseudonym]) == [pseudonym, p.one("R0000002"), pseudonym]
    assert Pseudonymiser(b"another key").one("R0000001") != pseudonym


def test_an_empty_key_is_refused_by_name() -> None:
    with pytest.raises(PseudonymKeyError, match="LINLI_PSEUDONYM_KEY is empty"):
        Pseudonymiser(b"")


def test_without_a_key_ids_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINLI_PSEUDONYM_KEY", raising=False)
    frame = pd.DataFrame({"resident_id": ["R1", "R2"]})
    assert pseudonymise("R1") == "R1"
    assert pseudonymise_frames({"residents": frame})["residents"]["resident_id"].tolist() == ["R1", "R2"]


@pytest.fixture(scope="module")
def raw_community() -> SyntheticCommunity:
    return generate_community(residents=150, seed=11, weeks=6)


def _assert_pseudonymised(raw: SyntheticCommunity, frames: dict[str, pd.DataFrame]) -> None:
    p = Pseudonymiser(PSEUDONYM_KEY.encode())
    expected = set(p.many(raw.frames["residents"]["resident_id"].tolist()))
    assert set(frames["residents"]["resident_id"]) == expected
    assert set(frames["interactions"]["resident_id"]) <= expected
    assert len(frames["interactions"]) == len(raw.frames["interactions"])


@pytest.mark.usefixtures("keys")
def test_the_folder_and_sql_loaders_pseudonymise(raw_community: SyntheticCommunity, tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    folder.mkdir()
    for name, frame in raw_community.frames.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)  # the platform's export, raw ids
    loaded = load_folder(folder)
    _assert_pseudonymised(raw_community, {"residents": loaded.residents, "interactions": loaded.interactions})
    assert all(is_pseudonym(str(r)) for r in loaded.resident_ids.external)
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    write_sql(raw_community.frames, url)
    from_sql = load_sql(url)
    assert from_sql.residents["resident_id"].tolist() == loaded.residents["resident_id"].tolist()


def test_generate_writes_pseudonyms_and_loading_them_again_keeps_them(
        raw_community: SyntheticCommunity, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LINLI_PSEUDONYM_KEY", PSEUDONYM_KEY)
    made = generate_community(residents=150, seed=11, weeks=6)
    _assert_pseudonymised(raw_community, made.frames)
    assert set(made.truth["resident_id"]) == set(made.frames["residents"]["resident_id"])
    again = load_folder(made.write(tmp_path / "generated"))  # idempotent: not hashed twice
    assert set(again.residents["resident_id"]) == set(made.frames["residents"]["resident_id"])
