"""Process-wide settings, read once from the environment (prefix ``AIOS_``) and passed in."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Settings for one Ai:oS process.

    Build it once at the edge (CLI, server, test) and pass it down; nothing reads the
    environment behind the caller's back.
    """

    model_config = SettingsConfigDict(env_prefix="AIOS_", extra="ignore", frozen=True)

    home: Path = Field(
        default_factory=lambda: Path.home() / ".aios",
        description="Directory for the default SQLite store and local state (AIOS_HOME).",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the store (AIOS_DATABASE_URL), for example "
            "postgresql+asyncpg://user@127.0.0.1:5432/aios. Default: SQLite in AIOS_HOME."
        ),
    )
    forensic: bool = Field(
        default=False,
        description="Read-only mode (AIOS_FORENSIC=1): mutating actions are reported, never run.",
    )
    max_concurrency: int = Field(
        default=16, ge=1, description="Actions of one run executing at the same time."
    )
    manifest: Path | None = Field(
        default=None, description="Manifest file used when --manifest is not given."
    )

    def store_url(self) -> str:
        """The store URL: ``database_url`` when set, else the SQLite file under ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.home / 'aios.db'}"
