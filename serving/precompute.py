"""A served version's lists: the stored ones opened where they lie, the missing ones scored on demand.

Training stores every resident's list with the version (:mod:`training.batch_lists`, the run's ``lists``
artifacts). :func:`open_lists` finds them: in place when the artifact store is a local folder (nothing is copied,
and every process maps the same files), else downloaded once into the serving cache, where the processes of a
machine share the copy. Only what the stored lists cannot answer is scored while serving (:func:`score_now`):
residents the version has no list for, cold-start profiles and ``k`` beyond the stored length.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import mlflow.artifacts
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from serving.list_store import ListStore, ListStoreError
from training.batch_lists import score_lists
from training.bundle import ModelBundle
from training.tracking import LISTS_ARTIFACT, LISTS_TAG

logger = logging.getLogger(__name__)


def open_lists(
    client: MlflowClient, tracking_uri: str, meta: ModelVersion, bundle: ModelBundle, cache: Path | None
) -> ListStore:
    """Check and map the stored lists of one registered version.

    Parameters
    ----------
    client : MlflowClient
    tracking_uri : str
    meta : ModelVersion
        The version (its run holds the lists).
    bundle : ModelBundle
        The version's bundle: the lists must cover its residents and services.
    cache : Path, optional
        Folder for lists downloaded from a remote artifact store; ``None``: a temporary folder, removed once the
        files are mapped (the mapping keeps them readable).

    Raises
    ------
    ListStoreError
        The version has no lists, or they are partial, corrupt or altered.
    """
    if not meta.run_id:
        raise ListStoreError(f"version {meta.version} has no run, so no stored lists; retrain it with `linli train`")
    run = client.get_run(meta.run_id)
    tag = run.data.tags.get(LISTS_TAG)
    if tag is None:
        raise ListStoreError(
            f"version {meta.version} has no stored lists (run {meta.run_id} lacks the {LISTS_TAG} "
            "tag); retrain it with `linli train`"
        )
    residents, services = len(bundle.resident_ids()), len(bundle.service_ids())
    local = _local_folder(run.info.artifact_uri)
    if local is not None:
        return ListStore.open(local / LISTS_ARTIFACT, tag, residents, services)
    folder = cache / f"lists-v{meta.version}-{meta.run_id}" if cache is not None else None
    if folder is not None and folder.is_dir():
        return ListStore.open(folder, tag, residents, services)
    scratch = Path(tempfile.mkdtemp(prefix=".lists-", dir=cache))
    try:
        mlflow.artifacts.download_artifacts(
            run_id=meta.run_id, artifact_path=LISTS_ARTIFACT, dst_path=str(scratch), tracking_uri=tracking_uri
        )
        store = ListStore.open(scratch / LISTS_ARTIFACT, tag, residents, services)
        if folder is not None:
            try:
                os.rename(scratch / LISTS_ARTIFACT, folder)  # another process may have won: its copy is the same
            except OSError:
                logger.info("lists of version %s already cached by another process", meta.version)
        return store
    except ListStoreError:
        raise
    except Exception as exc:  # a missing artifact, a network error
        raise ListStoreError(f"the lists of version {meta.version} cannot be downloaded: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _local_folder(artifact_uri: str | None) -> Path | None:
    """The run's artifact folder when the artifact store is a local file system, else ``None``."""
    if not artifact_uri:
        return None
    parsed = urlparse(artifact_uri)
    if parsed.scheme not in ("", "file"):
        return None
    folder = Path(unquote(parsed.path))
    return folder if folder.is_dir() else None


def score_now(
    bundle: ModelBundle, resident_ids: list[str], k: int, depth: int = 0, profile_rows: pd.DataFrame | None = None
) -> ListStore:
    """Lists the stored ones cannot answer, scored now with the bundle (:func:`training.batch_lists.score_lists`).

    Raises
    ------
    features.errors.DataValidationError
        If a profile row breaks the residents contract.
    """
    return ListStore.of_table(score_lists(bundle, resident_ids, k, depth, profile_rows), k, depth)


__all__ = ["open_lists", "score_now"]
