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
    TRAINING_QUEUE: str = "training"
    METRICS_FLUSH_SECONDS: float = Field(default=1.0, gt=0)
    MAX_UPLOAD_BYTES: int = Field(default=256 * 2**20, ge=1)
    EVENTS_POLL_SECONDS: float = Field(default=0.5, gt=0)
    MAX_PREDICT_ROWS: int = Field(default=1000, ge=1)

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
