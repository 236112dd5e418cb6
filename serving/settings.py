"""Settings of the recommendation API, read from ``LINLI_*`` environment variables (or a ``.env`` file).

``serving`` never imports ``linli``; the settings both share (``LINLI_DATA_DIR``, ``LINLI_MLFLOW_TRACKING_URI`` /
``MLFLOW_TRACKING_URI``, ``LINLI_MODEL_NAME``) live in :class:`training.tracking_settings.TrackingSettings`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from training.tracking_settings import TrackingSettings


class ServingSettings(TrackingSettings):
    """Runtime settings of ``linli serve``; every field can be set as ``LINLI_<FIELD>``.

    Attributes
    ----------
    data_dir : Path
        Where the default MLflow store, feedback database and precomputed-list cache live.
    mlflow_tracking_uri : str, optional
        MLflow tracking and registry URI (``LINLI_MLFLOW_TRACKING_URI`` or ``MLFLOW_TRACKING_URI``); default
        ``sqlite:///<data_dir>/mlflow.db``. No MLflow server is needed.
    model_name : str
        Registered model name.
    model_alias : str
        Alias whose version serves (``champion``); also the ``variant`` reported with every list.
    database_url : str, optional
        Feedback store URL (``LINLI_DATABASE_URL``); default ``sqlite:///<data_dir>/feedback.db``.
    api_keys : SecretStr, optional
        ``role:key`` pairs separated by commas, e.g. ``platform:K1,planner:K2,admin:K3``.
    api_keys_file : Path, optional
        A file of hashed keys written by ``linli keys`` (see :mod:`serving.key_file`); its keys are added to
        ``api_keys``, and the server re-reads it when it changes (rotation and revocation need no restart).
    api_docs : bool
        Serve ``/docs`` and ``/redoc`` (``LINLI_API_DOCS=true``); off by default, because those pages load
        Swagger UI and ReDoc from a CDN, which an offline deployment cannot reach and which would see who reads
        the docs. ``/openapi.json`` is always served (it holds no data).
    feedback_clock_skew_seconds : int
        How far a feedback event's ``timestamp`` may lie after the server's clock, or before the list it
        answers was served, to allow for clients' clocks; beyond that the event is refused with 422. A replay of
        past days (``linli simulate``, whose residents live on a simulated clock) sets it wide.
    max_body_bytes : int
        Largest request body accepted; larger ones get 413.
    retry_after_seconds : int
        ``Retry-After`` sent with 503 answers.
    served_log_durable : bool
        Flush every served-list log to disk before answering. ``False`` keeps the log through a crash of the
        server process (not of the machine) and saves a disk flush per request. Feedback is always flushed.
    served_log_wait_ms : int
        Longest a recommendation answer waits for its list to be logged (e.g. while another process holds the
        store locked); past it the answer leaves with ``X-Linli-Logged: queued`` and the list is logged as soon
        as the store allows.
    cache_dir : Path, optional
        Where a version's stored lists are downloaded once when the artifact store is remote (a local store is
        memory-mapped in place), shared by the machine's processes; default ``<data_dir>/serving-cache``.
        ``LINLI_CACHE_ENABLED=false`` downloads them per load instead.
    cache_enabled : bool
    session_secret : SecretStr, optional
        Key that signs the planner page's session cookies; default a random one per process (sign-ins then
        end when the server restarts). Set it when several server processes serve the page.
    session_hours : float
        How long a planner page sign-in lasts.
    challenger_share : float
        Share of residents (0–1) routed to the ``challenger`` alias when one is registered; the assignment is
        sticky per resident (a hash of ``ab_salt`` and the resident id). 0 turns A/B off.
    challenger_alias : str
        Alias of the A/B challenger; its lists report this as their ``variant``.
    ab_salt : str
        Salt of the A/B assignment hash; change it to re-draw who sees the challenger.
    exploration_rate : float
        Share of known residents' lists (0–1) whose last place goes to a service drawn at random from the next
        ``exploration_depth`` of their ranking, with each shown service's propensity logged, so a new model
        can be judged off-policy before it serves anyone. 0 turns exploration off.
    exploration_depth : int
        How far past the list the exploratory service may come from.
    rate_limit_platform, rate_limit_planner, rate_limit_admin : float
        Requests per second one key of that role may make (a token bucket per key); past it, 429 with
        ``Retry-After``.
    rate_burst_seconds : float
        A key's bucket holds this many seconds of its rate (the burst it may send at once).
    auth_failures_per_minute : float
        Failed sign-ins (unknown keys, bad session cookies) one client address may make per minute; past it every
        request from that address is answered 429 before its key is checked.
    rate_limit_store : str, optional
        Where the rate-limit buckets live: ``memory`` (each process its own, the default for one process), a
        SQL URL (``sqlite:///FILE``, PostgreSQL) or ``redis://HOST:PORT/DB``, shared by every process so a key's
        rate holds across ``linli serve --workers N`` (which defaults it to ``sqlite:///<data_dir>/rate_limits.db``).
    log_json : bool
        ``linli serve`` writes its logs (the access log too) as JSON lines with the request id; ``false``: text
        lines (``linli demo`` always writes text, for the person watching). See docs/operations.md.
    metrics_port : int, optional
        Also serve ``GET /metrics`` without a key on this port (loopback by default: ``metrics_host``); the
        API's own ``/metrics`` always needs an admin key.
    metrics_host : str
        Address of the metrics port.
    reload_check_seconds : float
        How often each server process checks the store for a reload made by another process (``POST
        /models/reload`` answered elsewhere) and then reloads too; 0 turns the check off.
    audit_enabled : bool
        Record planner and admin calls, and refused ones, in the audit log (:mod:`serving.audit`).
    cors_origins : tuple of str
        Origins allowed to call the API from a browser (JSON list, e.g. ``["https://portal.example"]``);
        empty (the default) turns CORS off.
    request_lexicon : Path, optional
        An operator's own service lexicon (``LINLI_REQUEST_LEXICON``), merged after the shipped one when the text
        model of ``POST /requests`` is built (see docs/requests.md).
    """

    model_config = SettingsConfigDict(env_prefix="LINLI_", env_file=".env", extra="ignore", populate_by_name=True)

    mlflow_tracking_uri: str | None = Field(
        None, validation_alias=AliasChoices("LINLI_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI", "mlflow_tracking_uri"))
    model_alias: str = "champion"
    database_url: str | None = None
    api_keys: SecretStr | None = None
    api_keys_file: Path | None = None
    api_docs: bool = False
    feedback_clock_skew_seconds: int = Field(300, ge=0, le=100 * 366 * 24 * 3600)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    retry_after_seconds: int = Field(5, ge=1)
    served_log_durable: bool = True
    served_log_wait_ms: int = Field(250, ge=1, le=10_000)
    cache_dir: Path | None = None
    cache_enabled: bool = True
    session_secret: SecretStr | None = None
    session_hours: float = Field(8.0, gt=0, le=24 * 30)
    challenger_share: float = Field(0.0, ge=0, le=1)
    challenger_alias: str = "challenger"
    ab_salt: str = "linli-ab"
    exploration_rate: float = Field(0.05, ge=0, le=1)
    exploration_depth: int = Field(10, ge=1, le=40)
    rate_limit_platform: float = Field(200.0, gt=0)
    rate_limit_planner: float = Field(20.0, gt=0)
    rate_limit_admin: float = Field(20.0, gt=0)
    rate_burst_seconds: float = Field(5.0, gt=0)
    auth_failures_per_minute: float = Field(60.0, gt=0)
    rate_limit_store: str | None = None
    log_json: bool = True
    metrics_port: int | None = Field(None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    reload_check_seconds: float = Field(1.0, ge=0, le=3600)
    audit_enabled: bool = True
    cors_origins: tuple[str, ...] = ()
    request_lexicon: Path | None = None

    def store_url(self) -> str:
        """The feedback store URL in force (``sqlite:///<data_dir>/feedback.db`` when unset)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'feedback.db').resolve()}"

    def lists_cache(self) -> Path | None:
        """Folder of downloaded list copies (remote artifact stores), or ``None`` when the cache is off."""
        if not self.cache_enabled:
            return None
        return self.cache_dir or self.data_dir / "serving-cache"



def get_settings() -> ServingSettings:
    """Settings as the environment says now."""
    return ServingSettings()
