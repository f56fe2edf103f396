"""Runtime settings, read once from GRADQ_* environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable; the zero-setup default keeps all state under DATA_DIR."""

    model_config = SettingsConfigDict(env_prefix="GRADQ_", case_sensitive=False)

    DATA_DIR: Path = Path(".gradq")
    DATABASE_URL: str | None = None
    BROKER_URL: str | None = None
    HOST: str = "127.0.0.1"
    PORT: int = Field(default=8000, ge=1, le=65535)
    # uvicorn worker processes of `gradq serve`; each keeps its own rate-limit buckets and
    # token cache, so limits multiply and a revocation reaches the others within the cache TTL
    API_WORKERS: int = Field(default=1, ge=1, le=64)
    TRAINING_QUEUE: str = "training"
    METRICS_FLUSH_SECONDS: float = Field(default=1.0, gt=0)
    MAX_UPLOAD_BYTES: int = Field(default=256 * 2**20, ge=1)
    EVENTS_POLL_SECONDS: float = Field(default=0.5, gt=0)
    MAX_PREDICT_ROWS: int = Field(default=1000, ge=1)

    # fault tolerance: a running attempt renews its lease every HEARTBEAT_SECONDS; the sweeper
    # requeues jobs whose lease ran out and re-sends wake-ups for queued jobs nobody took
    LEASE_SECONDS: float = Field(default=60.0, gt=0)
    HEARTBEAT_SECONDS: float = Field(default=10.0, gt=0)
    SWEEP_SECONDS: float = Field(default=15.0, gt=0)
    RESEND_SECONDS: float = Field(default=60.0, gt=0)
    MAX_ATTEMPTS: int = Field(default=3, ge=1, le=100)
    # PostgreSQL ends a session left idle inside a transaction this long, freeing its row locks:
    # a worker stopped mid-flush (SIGSTOP, a frozen VM) would otherwise hold its job's row, and
    # the sweeper could never requeue the job. No request or flush idles anywhere near this long.
    DB_IDLE_IN_TRANSACTION_SECONDS: float = Field(default=60.0, gt=0)
    # Redis redelivers a message unacknowledged this long; messages are acknowledged on receipt
    BROKER_VISIBILITY_TIMEOUT: float = Field(default=3600.0, gt=0)
    # workers train at this nice value (0-19): on a shared machine the API and people's shells
    # keep their share of the CPU while a job runs; alone, a job still gets all of it
    WORKER_NICE: int = Field(default=10, ge=0, le=19)
    # an idle worker on the embedded (SQL database) broker polls its queue this often
    EMBEDDED_POLL_SECONDS: float = Field(default=0.1, gt=0)
    # a checkpoint every checkpoint_every epochs, but not more often than this (always on stop)
    CHECKPOINT_MIN_SECONDS: float = Field(default=5.0, ge=0)

    # scheduling
    MAX_RUNNING_PER_USER: int = Field(default=2, ge=1)
    MAX_QUEUED_PER_USER: int = Field(default=100, ge=1)
    FAIR_SHARE_WINDOW_SECONDS: float = Field(default=7 * 24 * 3600.0, gt=0)

    # limits on what one request or job may ask for
    MAX_BODY_BYTES: int = Field(default=2 * 2**20, ge=1024)
    MAX_EPOCHS: int = Field(default=1_000_000, ge=1)
    MAX_PARAMETERS: int = Field(default=100_000_000, ge=1)
    MAX_BATCH_SIZE: int = Field(default=1_000_000, ge=1)
    MAX_DATASET_SAMPLES: int = Field(default=10_000_000, ge=1)
    MAX_RUNTIME_SECONDS: int = Field(default=7 * 24 * 3600, ge=1)
    RATE_LIMIT_PER_MINUTE: int = Field(default=1200, ge=1)
    RATE_LIMIT_BURST: int = Field(default=200, ge=1)

    @property
    def database_url(self) -> str:
        """The configured database, or a SQLite file in the data directory."""
        return self.DATABASE_URL or f"sqlite:///{self.DATA_DIR.resolve() / 'gradq.db'}"

    @property
    def broker_url(self) -> str:
        """The configured broker, or kombu's SQLAlchemy transport on a SQLite file."""
        return self.BROKER_URL or f"sqla+sqlite:///{self.DATA_DIR.resolve() / 'broker.db'}"

    @property
    def admin_token_path(self) -> Path:
        return self.DATA_DIR / "admin-token"

    @property
    def artifacts_dir(self) -> Path:
        return self.DATA_DIR / "artifacts"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests call get_settings.cache_clear() after changing the env."""
    return Settings()
