"""The API key file at rest: SM4-sealed under LINLI_ENCRYPTION_KEY, so it shows neither key ids nor digests; a
wrong or missing key is a clear error that names the setting and never a key; a plain file still reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.key_file import KeyFileError, KeyRing, new_entry, read_file, write_file

ROLES = frozenset({"platform", "planner", "admin"})
OTHER_KEY = "ffeeddccbbaa99887766554433221100"


def test_a_sealed_key_file_hides_its_lines_and_still_admits_its_keys(keys: None, tmp_path: Path) -> None:
    path = tmp_path / "keys"
    admin, admin_key = new_entry("admin", key_id="kadmin")
    platform, platform_key = new_entry("platform", key_id="kplatform")
    write_file(path, [admin, platform])
    text = path.read_text(encoding="utf-8")
    assert "kadmin" not in text and admin.digest.hex() not in text and "sm4g:" in text
    assert [e.key_id for e in read_file(path, ROLES)] == ["kadmin", "kplatform"]
    ring = KeyRing([], path, ROLES)
    found = ring.identify(platform_key)
    assert found is not None and found.role == "platform"
    assert ring.identify(admin_key + "x") is None


def test_a_sealed_file_under_another_key_or_none_is_a_clear_error(keys: None, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keys"
    entry, key = new_entry("admin")
    write_file(path, [entry])
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", OTHER_KEY)
    with pytest.raises(KeyFileError, match="LINLI_ENCRYPTION_KEY") as caught:
        read_file(path, ROLES)
    assert key not in str(caught.value)
    monkeypatch.delenv("LINLI_ENCRYPTION_KEY")
    with pytest.raises(KeyFileError, match="SM4-sealed"):
        read_file(path, ROLES)


def test_a_plain_file_from_before_the_key_reads_and_is_sealed_at_its_next_change(tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch
                                                                                   ) -> None:
    path = tmp_path / "keys"
    first, _ = new_entry("planner", key_id="kplanner")
    monkeypatch.delenv("LINLI_ENCRYPTION_KEY", raising=False)
    write_file(path, [first])
    assert "kplanner" in path.read_text(encoding="utf-8")
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", "00112233445566778899aabbccddeeff")
    entries = read_file(path, ROLES)
    assert [e.key_id for e in entries] == ["kplanner"]
    second, _ = new_entry("admin", key_id="kadmin")
    write_file(path, [*entries, second])
    assert "kplanner" not in path.read_text(encoding="utf-8")
    assert [e.key_id for e in read_file(path, ROLES)] == ["kplanner", "kadmin"]
