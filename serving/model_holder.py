"""The served model: the bundle registered under an alias, loaded from MLflow (no server) with the lists stored
with it (memory-mapped, :mod:`serving.list_store`), and swapped atomically on reload.

A request reads :attr:`ModelHolder.current` once and uses that :class:`ServedModel` to the end, so a
reload never changes a list half-way, and the old version's mapped lists stay readable until its last request
ends. :meth:`ModelHolder.load` builds the new model completely — download, verify, read, validate, open the new
lists beside the old — before one reference assignment swaps it in; a bundle or lists that fail any step
(missing, partial, corrupt) leave the old one serving. :meth:`ModelHolder.load` is the one entry point for a
reload, whatever triggers it.

Nothing from the registry runs before it is verified: the bundle folder's signed manifest and the SHA-256
recorded on its run are checked first (:func:`training.tracking.read_verified_bundle`), and its pickled part is
read through an allowlist. MLflow's pyfunc loader is never used. The lists are checked against the SHA-256 recorded
on the run (:func:`serving.precompute.open_lists`).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import mlflow.artifacts
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from features.columns import Columns as C
from features.local_time import TIMEZONE
from recommenders.signing import private_dir
from serving.ab import in_challenger
from serving.context import RequestContext, ServiceCatalog
from serving.list_store import ListStore, ListStoreError
from serving.precompute import open_lists, score_now
from serving.ranked import Pick, cut
from serving.request_answer import RequestServing
from serving.settings import ServingSettings
from training.bundle import ModelBundle
from training.tracking import read_verified_bundle

logger = logging.getLogger(__name__)


class ModelNotLoadedError(RuntimeError):
    """No bundle serves yet (start-up is loading it, or loading failed: see ``/ready``, ``POST /models/reload``)."""


class ModelLoadError(RuntimeError):
    """A bundle could not be loaded or failed validation; the previous one keeps serving."""


class ReloadInProgressError(RuntimeError):
    """Another load is running; wait for it to finish and retry."""


class UnknownResidentError(LookupError):
    """Residents the serving model does not know, sent without a profile."""

    def __init__(self, resident_ids: list[str], version: str) -> None:
        self.resident_ids = resident_ids
        shown = ", ".join(repr(r) for r in resident_ids[:5])
        super().__init__(f"unknown resident {shown} for model version {version}; send their residents-table row in "
                         "`profiles` with POST /recommendations to get cold-start recommendations")

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class ServedModel:
    """One loaded bundle with what serving needs, immutable once built.

    Attributes
    ----------
    bundle : ModelBundle
    version : str
        Registry version.
    run_id : str
    variant : str
        The alias it was loaded by (``champion``), reported with every list.
    lists : ListStore
        Every known resident's list, stored with the version and memory-mapped.
    catalog : ServiceCatalog
    loaded_at : datetime
        When the model was built (aware, Asia/Shanghai).
    load_seconds : float
        Download, unpickle and validation.
    open_seconds : float
        Checking and mapping the stored lists (none are scored at load).
    rule_inputs_stored : bool
        Whether the residents' rule inputs for ``POST /requests`` came stored with the lists (``False``: a version
        stored without them, whose inputs were computed at load).
    requests : RequestServing, optional
        The text model and rules that answer ``POST /requests``, built from the bundle's catalogue at load;
        ``None`` when it could not be built (the server log says why; recommendations serve regardless).
    """

    bundle: ModelBundle
    version: str
    run_id: str
    variant: str
    lists: ListStore
    catalog: ServiceCatalog
    loaded_at: datetime
    load_seconds: float
    open_seconds: float
    rule_inputs_stored: bool
    requests: RequestServing | None = None

    def recommend(self, resident_ids: list[str], k: int, context: RequestContext | None = None,
                  profiles: pd.DataFrame | None = None, pool: bool = False) -> list[tuple[list[Pick], bool]]:
        """Each resident's top-``k`` services fitting ``context``, and whether they were ranked from a profile.

        Residents with a stored list are answered from it; residents without one (known to the bundle, or
        new with a row in ``profiles``) and ``k`` beyond the stored length are ranked now by the bundle. With
        ``pool``, the stored exploration pool counts as stored (its services carry their checkable reasons
        only), so exploration never waits for the model.

        Raises
        ------
        UnknownResidentError
            If a resident is unknown and has no row in ``profiles``.
        features.errors.DataValidationError
            If a profile row breaks the residents contract.
        """
        found = {r: self.lists.locate(r) for r in resident_ids}
        unstored = [r for r, place in found.items() if place is None]
        unknown = [r for r, known in zip(unstored, self.bundle.knows(unstored), strict=True) if not known]
        profiled = set() if profiles is None else set(profiles[C.RESIDENT].astype(str))
        missing = [r for r in unknown if r not in profiled]
        if missing:
            raise UnknownResidentError(missing, self.version)
        limit = self.lists.k + (self.lists.depth if pool else 0)
        now = unstored + [r for r, place in found.items() if place is not None and k > limit]
        fresh: ListStore | None = None
        if now:
            frame = profiles[profiles[C.RESIDENT].astype(str).isin(unknown)] if unknown and profiles is not None \
                else None
            fresh = score_now(self.bundle, now, k, profile_rows=frame)
        allowed = self.catalog.allowed(context or RequestContext())
        rules, ranked_now, cold = self.bundle.rules(), set(now), set(unknown)
        out = []
        for resident in resident_ids:
            place = fresh.locate(resident) if fresh is not None and resident in ranked_now else found[resident]
            if place is None:
                raise RuntimeError(f"no list came back for resident {resident!r}")
            out.append((cut(*place, k, allowed, rules), resident in cold))
        return out


class ModelHolder:
    """Loads the bundle of ``settings.model_alias`` and holds the one that serves, plus an A/B challenger.

    With ``settings.challenger_share`` above 0 and a version under ``settings.challenger_alias`` loaded,
    :meth:`for_resident` routes that share of residents (sticky, see :mod:`serving.ab`) to the challenger.

    Parameters
    ----------
    settings : ServingSettings
    """

    def __init__(self, settings: ServingSettings) -> None:
        self.settings = settings
        self.client = MlflowClient(tracking_uri=settings.tracking_uri(), registry_uri=settings.tracking_uri())
        self._current: ServedModel | None = None
        self._challenger: ServedModel | None = None
        self._lock = threading.Lock()
        self.loading = False
        self.last_error: str | None = None

    @property
    def current(self) -> ServedModel:
        """The model serving now; raises :class:`ModelNotLoadedError` when none is loaded."""
        served = self._current
        if served is None:
            reason = "the model is still loading" if self.loading else (self.last_error or "no model loaded")
            raise ModelNotLoadedError(f"no model is serving yet: {reason}")
        return served

    @property
    def ready(self) -> bool:
        """Whether a model serves."""
        return self._current is not None

    @property
    def challenger(self) -> ServedModel | None:
        """The A/B challenger when one is loaded and A/B is on (``challenger_share`` > 0)."""
        return self._challenger if self.settings.challenger_share > 0 else None

    def for_resident(self, resident_id: str, champion: ServedModel | None = None) -> ServedModel:
        """The model that serves this resident: the challenger for its sticky share, else the champion.

        Parameters
        ----------
        resident_id : str
        champion : ServedModel, optional
            The champion the request already holds (so a reload mid-request changes nothing); default
            :attr:`current`.

        Raises
        ------
        ModelNotLoadedError
            If no champion is loaded yet.
        """
        champion, challenger = champion or self.current, self.challenger
        if challenger is not None and in_challenger(resident_id, self.settings.challenger_share,
                                                    self.settings.ab_salt):
            return challenger
        return champion

    def load(self, alias: str | None = None) -> ServedModel:
        """Load the version holding ``alias`` (default ``settings.model_alias``), validate it and swap it in.

        The challenger alias (``settings.challenger_alias``) loads into the A/B slot; any other alias
        replaces the model serving everyone else.

        Raises
        ------
        ReloadInProgressError
            If another load is running.
        ModelLoadError
            If the registry has no such version, or the bundle cannot be loaded or validated; the
            model serving before keeps serving.
        """
        if not self._lock.acquire(blocking=False):
            raise ReloadInProgressError("a model load is already running; retry when it has finished")
        self.loading = True
        try:
            served = self._build(alias or self.settings.model_alias)
            if served.variant == self.settings.challenger_alias:
                self._challenger = served
            else:
                self._current = served  # the swap: one reference assignment
            self.last_error = None
            logger.info("serving %s version %s as %s (lists of %d residents mapped in %.1f s)",
                        self.settings.model_name, served.version, served.variant, len(served.lists),
                        served.open_seconds)
            return served
        except ModelLoadError as exc:
            self.last_error = str(exc)
            logger.error("model load failed, %s: %s", "previous model keeps serving" if self._current else
                         "no model serves", exc)
            raise
        finally:
            self.loading = False
            self._lock.release()

    def load_all(self) -> ServedModel:
        """Load the champion and, when A/B is on, the challenger (a missing or broken challenger is logged and
        the champion serves everyone). Returns the champion.

        Raises
        ------
        ReloadInProgressError, ModelLoadError
            As :meth:`load`, for the champion.
        """
        champion = self.load()
        if self.settings.challenger_share > 0:
            try:
                challenger = self.load(self.settings.challenger_alias)
            except ModelLoadError as exc:
                self._challenger = None
                logger.warning("A/B is on but no challenger serves; the champion serves everyone: %s", exc)
            else:
                if challenger.version == champion.version:
                    self._challenger = None
                    logger.info("the challenger alias points at the champion (version %s): no A/B split",
                                champion.version)
        return champion

    def registry(self) -> tuple[list[ModelVersion], dict[str, str]]:
        """All registered versions of the model (newest first) and its aliases (alias → version)."""
        name = self.settings.model_name
        versions = self.client.search_model_versions(f"name='{name}'")
        aliases = dict(self.client.get_registered_model(name).aliases) if versions else {}
        return sorted(versions, key=lambda v: -int(v.version)), {a: str(v) for a, v in aliases.items()}

    def _build(self, alias: str) -> ServedModel:
        name = self.settings.model_name
        started = time.perf_counter()
        meta = self._version(name, alias)
        with tempfile.TemporaryDirectory(prefix="linli-serve-") as folder:
            try:
                uri = self.client.get_model_version_download_uri(name, meta.version)
                local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=folder,
                                                                 tracking_uri=self.settings.tracking_uri()))
                tags = self.client.get_run(meta.run_id).data.tags if meta.run_id else None
                bundle = read_verified_bundle(local, tags)
            except Exception as exc:  # anything from a missing file to a bad signature or a refused pickle
                raise ModelLoadError(f"{name} version {meta.version} cannot be loaded: {exc}") from exc
            _validate(bundle, name, meta.version)
        loaded = time.perf_counter()
        cache = self.settings.lists_cache()
        try:
            lists = open_lists(self.client, self.settings.tracking_uri(), meta, bundle,
                               private_dir(cache) if cache is not None else None)
        except (ListStoreError, OSError) as exc:
            raise ModelLoadError(f"{name} version {meta.version} cannot serve: {exc}") from exc
        catalog = ServiceCatalog.from_services(bundle.catalogue())
        opened = time.perf_counter()
        requests = self._requests(bundle, str(meta.version), lists)
        return ServedModel(bundle=bundle, version=str(meta.version), run_id=str(meta.run_id), variant=alias,
                           lists=lists, catalog=catalog, loaded_at=datetime.now(TIMEZONE),
                           load_seconds=loaded - started, open_seconds=opened - loaded,
                           rule_inputs_stored=requests is not None and requests.rules.stored, requests=requests)

    def _requests(self, bundle: ModelBundle, version: str, lists: ListStore) -> RequestServing | None:
        """The text model for ``POST /requests`` from the bundle's catalogue, the rules' inputs from ``lists`` when
        stored there; ``None`` (logged) when it fails."""
        started = time.perf_counter()
        lexicons = (self.settings.request_lexicon,) if self.settings.request_lexicon else ()
        try:
            serving = RequestServing.build(bundle, lexicons, lists)
        except Exception:  # a broken lexicon must not keep recommendations from serving
            logger.exception("version %s serves without POST /requests: its text model could not be built", version)
            return None
        logger.info("version %s: request text model built in %.1f s", version, time.perf_counter() - started)
        return serving

    def _version(self, name: str, alias: str) -> ModelVersion:
        try:
            return self.client.get_model_version_by_alias(name, alias)
        except Exception as exc:
            raise ModelLoadError(f"the registry at {self.settings.tracking_uri()} has no {name} version with alias "
                                 f"{alias!r}; train one with `linli train` (it sets the aliases): {exc}") from exc


def _validate(bundle: object, name: str, version: str) -> None:
    """A bundle serves only if it is a Linli bundle that recommends for one of its residents."""
    if not isinstance(bundle, ModelBundle):
        raise ModelLoadError(f"{name} version {version} is not a Linli model bundle ({type(bundle).__name__})")
    try:
        residents = bundle.resident_ids()
        if len(residents) == 0:
            raise ValueError("the bundle knows no residents")
        probe = score_now(bundle, [str(residents[0])], 3)
        if len(probe) != 1:
            raise ValueError("no list came back for a known resident")
    except Exception as exc:
        raise ModelLoadError(f"{name} version {version} failed validation: {exc}") from exc


__all__ = ["ModelHolder", "ModelLoadError", "ModelNotLoadedError", "ReloadInProgressError", "ServedModel",
           "UnknownResidentError"]
