"""``linli erase`` and ``linli privacy``: erasure (PIPL art. 47), retention, key rotation, fresh keys.

Each command works on the feedback store in force (``--store``, else ``LINLI_DATABASE_URL``, else
``<data_dir>/feedback.db``), in one transaction, and is safe to repeat.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from linli.common import JsonOption, NowOption, StoreOption, app, fail, feedback_store_url, parse_now

if TYPE_CHECKING:
    from features.dataset import Dataset
    from serving.store import FeedbackStore

privacy_app = typer.Typer(help="Retention, key rotation and keys of the privacy mechanisms (docs/privacy.md).",
                          no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")



def _store(url: str | None) -> FeedbackStore:
    from serving.store import FeedbackStore, StoreUnavailableError

    url, _ = feedback_store_url(url)
    store = FeedbackStore(url)
    try:
        store.create_schema()
    except StoreUnavailableError as exc:
        raise fail(f"--store {url}: {exc}") from exc
    return store


def _report(result: dict[str, object], as_json: bool, text: str) -> None:
    typer.echo(json.dumps(result, ensure_ascii=False, default=str) if as_json else text)


@app.command()
def erase(
    resident: Annotated[str, typer.Option("--resident", help="The platform's id of the resident to erase.")],
    store_url: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Erase a resident (PIPL art. 47): delete their rows, drop cached lists, keep them out of every retrain."""
    from privacy.pseudonym import PseudonymKeyError, pseudonymise
    from serving.audit import AuditLog
    from serving.privacy_edge import drop_cached_lists
    from serving.settings import ServingSettings

    try:
        stored = pseudonymise(resident)
    except PseudonymKeyError as exc:
        raise fail(str(exc)) from exc
    with _store(store_url) as store:
        gone = store.erase_resident(stored)
        audit = AuditLog(store)
        audit.append("erasure", target=stored, address="cli")
        audit.close()
    dropped = drop_cached_lists(ServingSettings().lists_cache())
    result = {"resident_id": stored, "rows_deleted": gone, "cached_lists_dropped": dropped}
    _report(result, as_json, f"erased {stored}: " + ", ".join(f"{n:,} {t}" for t, n in gone.items())
            + f"; {dropped} cached list file(s) dropped; the ledger keeps them out of every later `linli train` "
            "(running servers stop serving them within LINLI_ERASURE_REFRESH_SECONDS)")


@privacy_app.command()
def purge(
    days: Annotated[int | None, typer.Option(min=1, help="Keep this many days; default LINLI_RETENTION_DAYS.")
                    ] = None,
    store_url: StoreOption = None,
    now: NowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete served lists and feedback older than the retention period (idempotent; safe from cron)."""
    from features.local_time import now_local
    from privacy.settings import privacy_settings
    from serving.store_privacy import purge as purge_store

    days = days or privacy_settings().retention_days
    if days is None:
        raise fail("--days: give the retention period in days, or set LINLI_RETENTION_DAYS")
    moment = parse_now(now)
    cutoff = (moment.to_pydatetime() if moment is not None else now_local()) - timedelta(days=days)
    with _store(store_url) as store:
        gone = purge_store(store, cutoff.replace(tzinfo=None))
    _report({"cutoff": cutoff, "rows_deleted": gone}, as_json,
            f"purged rows before {cutoff:%Y-%m-%d %H:%M}: " + ", ".join(f"{n:,} {t}" for t, n in gone.items()))


@privacy_app.command()
def rekey(
    data: Annotated[str, typer.Option("--data", help="The platform's source with raw resident ids (folder or URL).")],
    store_url: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rotate keys: re-key the store's pseudonyms and re-encrypt its comments (old keys: LINLI_OLD_*)."""
    from features.errors import LinliDataError
    from privacy.encryption import DecryptionError, EncryptionKeyError, cipher
    from privacy.rekey import RekeyError, id_map, old_cipher, raw_resident_ids
    from serving.privacy_edge import drop_cached_lists
    from serving.settings import ServingSettings
    from serving.store_privacy import rekey as rekey_store

    try:
        mapping = id_map(raw_resident_ids(data))
        old, new = old_cipher(), cipher()
        with _store(store_url) as store:
            done = rekey_store(store, mapping, old, new)
    except (RekeyError, EncryptionKeyError, DecryptionError, LinliDataError) as exc:
        raise fail(str(exc)) from exc
    dropped = drop_cached_lists(ServingSettings().lists_cache())
    _report({"residents": len(mapping), "rows_rekeyed": done, "cached_lists_dropped": dropped}, as_json,
            f"re-keyed {len(mapping):,} residents: " + ", ".join(f"{n:,} {t}" for t, n in done.items())
            + f"; {dropped} cached list file(s) dropped. Retrain now (`linli train`): the registered versions "
            "know the old pseudonyms.")


@privacy_app.command()
def keygen() -> None:
    """Print fresh random keys as LINLI_* settings (pseudonyms: HMAC-SM3; free text: SM4)."""
    from privacy.rekey import new_keys

    for name, value in new_keys().items():
        typer.echo(f"{name}={value}")


def exclude_erased(dataset: Dataset, feedback: str | None) -> Dataset:
    """``dataset`` without the residents of the erasure ledger (read from the feedback store in force, or the
    ``--feedback`` URL), with a note on stderr when some were left out."""
    from privacy.erasure import without_residents
    from serving.store import FeedbackStore, StoreUnavailableError
    from serving.store_privacy import erased

    url, exists = feedback_store_url(None if feedback is None or feedback.lower() == "none" else feedback)
    if not exists:
        return dataset
    try:
        with FeedbackStore(url) as store:
            ledger = erased(store)
    except StoreUnavailableError as exc:
        raise fail(f"cannot read the erasure ledger in {url}: {exc}; nothing was trained") from exc
    dataset, left_out = without_residents(dataset, ledger)
    if left_out:
        typer.echo(f"erasure ledger: {left_out:,} erased resident(s) left out of training", err=True)
    return dataset
