"""``linli keys`` (make, rotate, revoke, list and import API keys) and ``linli audit`` (print or verify the
audit log). Key changes and ``linli train``'s alias moves are recorded in the audit log; a running server sees
key changes at its next request."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from linli.common import JsonOption, StoreOption, app, fail, feedback_store_url

if TYPE_CHECKING:
    from serving.key_file import KeyEntry

keys_app = typer.Typer(help="API keys: stored as salted SM3 digests; a key is shown once, when it is made.",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")

FileOption = Annotated[Path | None, typer.Option(
    "--file", help="Key file (default LINLI_API_KEYS_FILE, else <LINLI_DATA_DIR>/api_keys).")]


def _key_file(file: Path | None) -> Path:
    from serving.settings import ServingSettings

    settings = ServingSettings()
    return file or settings.api_keys_file or settings.data_dir / "api_keys"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``path`` while its keys are read, changed and written back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _entries(path: Path) -> list[KeyEntry]:
    from serving.auth import ROLES
    from serving.key_file import KeyFileError, read_file

    if not path.exists():
        return []
    try:
        return read_file(path, ROLES)
    except KeyFileError as exc:
        raise fail(str(exc)) from exc


def _without(path: Path, key_id: str) -> tuple[list[KeyEntry], KeyEntry]:
    """The key file's entries but ``key_id``, and that entry; exit 2 when there is none."""
    entries = _entries(path)
    old = next((e for e in entries if e.key_id == key_id), None)
    if old is None:
        raise fail(f"no key {key_id!r} in {path}; `linli keys list` shows the ids")
    return [e for e in entries if e.key_id != key_id], old


def record_alias_move(store: str | None, model_name: str, alias: str, version: str) -> None:
    """Record in the audit log that ``alias`` now points at ``version`` (``linli train``'s gate moved it), when
    the feedback store exists; a store out of reach only warns."""
    from serving.audit import AuditLog
    from serving.store import FeedbackStore, StoreUnavailableError

    url, exists = feedback_store_url(store)
    if not exists:
        return
    with FeedbackStore(url) as feedback:
        try:
            AuditLog(feedback).append("alias.move", target=f"{model_name}@{alias} -> version {version}",
                                      address="cli")
        except StoreUnavailableError as exc:
            typer.secho(f"warning: the alias moved but could not be audited: {exc}", err=True)


def _audit(action: str, key_id: str, role: str, store: str | None) -> None:
    from serving.audit import AuditLog
    from serving.settings import ServingSettings
    from serving.store import FeedbackStore, StoreUnavailableError

    with FeedbackStore(store or ServingSettings().store_url()) as feedback:
        try:
            AuditLog(feedback).append(action, key_id=key_id, role=role, address="cli", target=None)
        except StoreUnavailableError as exc:
            typer.secho(f"warning: the key change is done but could not be audited: {exc}", err=True)


@keys_app.command("new")
def keys_new(role: Annotated[str, typer.Option(help="platform, planner or admin.")], file: FileOption = None,
             store: StoreOption = None) -> None:
    """Make a key for ROLE: prints the key (only now) on stdout, its id on stderr."""
    from serving.auth import ROLES
    from serving.key_file import new_entry, write_file

    if role not in ROLES:
        raise fail(f"--role {role!r}: use one of {', '.join(sorted(ROLES))}")
    path = _key_file(file)
    with _locked(path):
        entry, key = new_entry(role)
        write_file(path, [*_entries(path), entry])
    _audit("key.new", entry.key_id, role, store)
    typer.echo(f"new {role} key {entry.key_id} in {path}; it is shown once, keep it safe:", err=True)
    typer.echo(key)


@keys_app.command("rotate")
def keys_rotate(key_id: Annotated[str, typer.Argument(help="Id of the key to replace.")], file: FileOption = None,
                store: StoreOption = None) -> None:
    """Replace key KEY_ID by a new key of its role (the old one stops at once); prints the new key."""
    from serving.key_file import new_entry, write_file

    path = _key_file(file)
    with _locked(path):
        kept, old = _without(path, key_id)
        entry, key = new_entry(old.role)
        write_file(path, [*kept, entry])
    _audit("key.rotate", entry.key_id, old.role, store)
    _audit("key.revoke", key_id, old.role, store)
    typer.echo(f"{key_id} revoked; new {old.role} key {entry.key_id}, shown once:", err=True)
    typer.echo(key)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Id of the key to revoke.")], file: FileOption = None,
                store: StoreOption = None) -> None:
    """Revoke key KEY_ID: running servers refuse it (and end its planner-page sessions) at their next request."""
    from serving.key_file import write_file

    path = _key_file(file)
    with _locked(path):
        kept, old = _without(path, key_id)
        write_file(path, kept)
    _audit("key.revoke", key_id, old.role, store)
    typer.echo(f"revoked {old.role} key {key_id}")


@keys_app.command("list")
def keys_list(file: FileOption = None) -> None:
    """The ids and roles of the keys in the key file (never the keys)."""
    for entry in _entries(_key_file(file)):
        typer.echo(f"{entry.key_id}\t{entry.role}\t{entry.algorithm}")


@keys_app.command("import")
def keys_import(plain: Annotated[Path, typer.Argument(help="A plain role:key file (the old format).")],
                file: FileOption = None, store: StoreOption = None) -> None:
    """Hash the keys of a plain ``role:key`` file into the key file (the same keys keep working); a plain file
    that is the key file itself is replaced, so no key stays on disk."""
    from serving.auth import ApiKeyConfigError, parse_keys
    from serving.key_file import new_entry, write_file

    try:
        pairs = [line.strip().split(":", 1) for line in plain.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.strip().startswith("#")]
        parse_keys("\n".join(":".join(p) for p in pairs), str(plain))  # the same checks as LINLI_API_KEYS
    except (OSError, ApiKeyConfigError) as exc:
        raise fail(f"{plain}: {getattr(exc, 'strerror', None) or exc}") from exc
    path = _key_file(file)
    with _locked(path):
        kept = [] if path.resolve() == plain.resolve() else _entries(path)
        added = [new_entry(role.strip(), key=key.strip())[0] for role, key in pairs]
        write_file(path, kept + added)
    for entry in added:
        _audit("key.import", entry.key_id, entry.role, store)
    typer.echo(f"hashed {len(added)} keys into {path}: " + ", ".join(f"{e.key_id} ({e.role})" for e in added))


@app.command()
def audit(
    since: Annotated[str | None, typer.Option(help="Rows at or after this time (ISO, e.g. 2026-12-01T00:00+08:00; "
                                                   "no zone means UTC).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Most rows printed.")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Check the SM3 hash chain instead of printing rows; "
                                                          "exit 1 when a row was deleted or edited.")] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the audit log (who read or changed what, when, from where, with which answer), or verify it."""
    from serving.audit import AuditLog
    from serving.settings import ServingSettings
    from serving.store import FeedbackStore, StoreUnavailableError

    try:
        moment = datetime.fromisoformat(since) if since else None
    except ValueError as exc:
        raise fail(f"--since {since!r}: not an ISO time, e.g. 2026-12-01T00:00+08:00") from exc
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    with FeedbackStore(store or ServingSettings().store_url()) as feedback:
        log = AuditLog(feedback)
        try:
            if verify:
                result = log.verify()
                text = (f"audit chain intact: {result.rows} rows, head {result.head_seq} {result.head_hash}"
                        if result.ok else f"AUDIT CHAIN BROKEN after {result.rows} good rows: {result.problem}")
                typer.echo(json.dumps(result.__dict__) if as_json else text)
                if not result.ok:
                    raise typer.Exit(1)
                return
            rows = log.rows(since=moment, limit=limit)
        except StoreUnavailableError as exc:
            raise fail(str(exc)) from exc
    columns = ("seq", "at", "key_id", "role", "action", "target", "address", "status")
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False) if as_json else
                   "\t".join("-" if row[c] is None else str(row[c]) for c in columns))
