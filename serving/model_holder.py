"""The served model: the bundle registered under an alias, loaded from MLflow (no server) with every known
resident's list precomputed, and swapped atomically on reload.

A request reads :attr:`ModelHolder.current` once and uses that :class:`ServedModel` to the end, so a
reload never changes a list half-way. :meth:`ModelHolder.load` builds the new model completely —
download, verify, read, validate, precompute (or read the per-version cache) — before one reference
assignment swaps it in; a bundle that fails any step leaves the old one serving.

Nothing from the registry runs before it is verified: the bundle folder's signed manifest and the SHA-256
recorded on its run are checked first (:func:`training.tracking.read_verified_bundle`), and its pickled part is
read through an allowlist. MLflow's pyfunc loader is never used. The list cache is private (folder 700, files 600).
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
from serving.precompute import precompute_all, rank_residents
from serving.ranked import Pick, RankedLists
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
    lists : RankedLists
        Every known resident's precomputed list.
    catalog : ServiceCatalog
    loaded_at : datetime
        When the model was built (aware, Asia/Shanghai).
    load_seconds : float
        Download, unpickle and validation.
    precompute_seconds : float
        Building (or reading) the precomputed lists.
    from_cache : bool
        Whether the lists came from the cache.
    requests : RequestServing, optional
        The text model and rules that answer ``POST /requests``, built from the bundle's catalogue at load;
        ``None`` when it could not be built (the server log says why; recommendations serve regardless).
    """

    bundle: ModelBundle
    version: str
    run_id: str
    variant: str
    lists: RankedLists
    catalog: ServiceCatalog
    loaded_at: datetime
    load_seconds: float
    precompute_seconds: float
    from_cache: bool
    requests: RequestServing | None = None

    def recommend(self, resident_ids: list[str], k: int, context: RequestContext | None = None,
                  profiles: pd.DataFrame | None = None, pool: bool = False) -> list[tuple[list[Pick], bool]]:
        """Each resident's top-``k`` services fitting ``context``, and whether they were ranked from a profile.

        Known residents are answered from the precomputed lists; residents the model has not seen (with a
        row in ``profiles``) and ``k`` beyond the precomputed length are ranked now by the bundle. With
        ``pool``, the precomputed exploration pool counts as precomputed (its services carry their checkable
        reasons only), so exploration never waits for the model.

        Raises
        ------
        UnknownResidentError
            If a resident is unknown and has no row in ``profiles``.
        features.errors.DataValidationError
            If a profile row breaks the residents contract.
        """
        rows = {r: self.lists.row_of(r) for r in resident_ids}
        unknown = [r for r, row in rows.items() if row < 0]
        profiled = set() if profiles is None else set(profiles[C.RESIDENT].astype(str))
        missing = [r for r in unknown if r not in profiled]
        if missing:
            raise UnknownResidentError(missing, self.version)
        limit = self.lists.k + (self.lists.depth if pool else 0)
        now = unknown + [r for r, row in rows.items() if row >= 0 and k > limit]
        fresh = None
        if now:
            frame = profiles[profiles[C.RESIDENT].astype(str).isin(unknown)] if unknown and profiles is not None \
                else None
            fresh = rank_residents(self.bundle, now, k, profile_rows=frame)
        allowed = self.catalog.allowed(context or RequestContext())
        rules = self.bundle.model.rules_
        out = []
        for resident in resident_ids:
            source = fresh if resident in now and fresh is not None else self.lists
            picks = source.pick(source.row_of(resident), k, allowed, int(rules.config.offline_quota),
                                rules.offline_capable_)
            out.append((picks, resident in unknown))
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
            logger.info("serving %s version %s as %s (%d residents precomputed)", self.settings.model_name,
                        served.version, served.variant, len(served.lists))
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
            lists, from_cache = self._lists(bundle, meta, local)
        catalog = ServiceCatalog.from_services(bundle.model.services_)
        precomputed = time.perf_counter()
        return ServedModel(bundle=bundle, version=str(meta.version), run_id=str(meta.run_id), variant=alias,
                           lists=lists, catalog=catalog, loaded_at=datetime.now(TIMEZONE),
                           load_seconds=loaded - started, precompute_seconds=precomputed - loaded,
                           from_cache=from_cache, requests=self._requests(bundle, str(meta.version)))

    def _requests(self, bundle: ModelBundle, version: str) -> RequestServing | None:
        """The text model for ``POST /requests`` from the bundle's catalogue; ``None`` (logged) when it fails."""
        started = time.perf_counter()
        lexicons = (self.settings.request_lexicon,) if self.settings.request_lexicon else ()
        try:
            serving = RequestServing.build(bundle, lexicons)
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

    def _lists(self, bundle: ModelBundle, meta: ModelVersion, local: Path) -> tuple[RankedLists, bool]:
        k, depth = self.settings.precompute_k, self.settings.exploration_depth
        folder = self.settings.lists_cache()
        name = f"{self.settings.model_name}-v{meta.version}-{meta.run_id}-k{k}+{depth}.npz"
        path = folder / name if folder else None
        residents = bundle.model.resident_ids_.external
        if path is not None and path.exists():
            try:
                cached = RankedLists.load(path)
                if (cached.k, cached.depth) == (k, depth) and cached.residents.equals(residents.astype(object)):
                    return cached, True
                logger.warning("ignoring cached lists %s: they do not match the bundle", path)
            except (OSError, ValueError, KeyError) as exc:
                logger.warning("ignoring unreadable cached lists %s: %s", path, exc)
        workers = self.settings.workers_for(len(residents))
        try:
            lists = precompute_all(bundle, k, self.settings.precompute_batch, workers, local, depth=depth)
        except Exception as exc:
            raise ModelLoadError(f"version {meta.version} failed while ranking its residents: {exc}") from exc
        if path is not None:
            try:
                private_dir(path.parent)
                os.chmod(lists.save(path), 0o600)  # written inside the private folder, so never readable by others
            except OSError as exc:
                logger.warning("cannot cache precomputed lists at %s: %s", path, exc)
        return lists, False


def _validate(bundle: object, name: str, version: str) -> None:
    """A bundle serves only if it is a Linli bundle that recommends for one of its residents."""
    if not isinstance(bundle, ModelBundle):
        raise ModelLoadError(f"{name} version {version} is not a Linli model bundle ({type(bundle).__name__})")
    try:
        residents = bundle.model.resident_ids_.external
        if len(residents) == 0:
            raise ValueError("the bundle knows no residents")
        probe = rank_residents(bundle, [str(residents[0])], 3)
        if len(probe) != 1:
            raise ValueError("no list came back for a known resident")
    except Exception as exc:
        raise ModelLoadError(f"{name} version {version} failed validation: {exc}") from exc


__all__ = ["ModelHolder", "ModelLoadError", "ModelNotLoadedError", "ReloadInProgressError", "ServedModel",
           "UnknownResidentError"]
