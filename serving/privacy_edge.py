"""Where a resident id enters the API: it becomes the pseudonym Linli stores (with ``LINLI_PSEUDONYM_KEY``), and
an erased resident is answered 404.

The platform keeps sending its own ids; answers echo them back, while the model, the feedback store and the
logs only ever see the pseudonym.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request, status

from privacy import log_filter
from privacy.erasure import ErasedResidents
from privacy.pseudonym import pseudonymise
from privacy.settings import privacy_settings
from serving.store_privacy import erased

ERASED_DETAIL = "unknown resident (erased)"


def install(app: FastAPI) -> None:
    """Give ``app`` its view of the erasure ledger, and keep raw ids out of the access log."""
    store = app.state.store
    app.state.erased = ErasedResidents(lambda: erased(store), privacy_settings().erasure_refresh_seconds)
    log_filter.install()


def stored_id(request: Request, resident_id: str) -> str:
    """The id as Linli stores it (its pseudonym); 404 when that resident was erased."""
    stored = pseudonymise(resident_id)
    if stored in request.app.state.erased:
        raise HTTPException(status.HTTP_404_NOT_FOUND, ERASED_DETAIL)
    return stored


def drop_cached_lists(folder: Path | None) -> int:
    """Delete every list copy of the serving cache (downloaded again from the registry at the next load); the count.

    A process that has the lists mapped keeps reading them; the erased resident is refused at the edge
    (:func:`stored_id`) and leaves the stored lists at the next retrain.
    """
    if folder is None or not folder.is_dir():
        return 0
    dropped = 0
    for path in [*folder.glob("*.npz"), *folder.glob("lists-v*")]:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        dropped += 1
    return dropped
