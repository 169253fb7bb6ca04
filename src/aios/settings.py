"""Process-wide settings, read once from the environment (prefix ``AIOS_``) and passed in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    durable_steps: bool = Field(
        default=False,
        description=(
            "Commit each step's end before it counts as finished (AIOS_DURABLE_STEPS=1): a "
            "kill then loses no finished step, at one commit per step (a chain of no-op "
            "steps costs about ten times more). Off, a kill can lose the ends of read-only "
            "steps that finished within the last flush cycle."
        ),
    )
    run_heartbeat_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "How often the process executing a run records that it still does "
            "(AIOS_RUN_HEARTBEAT_SECONDS). A resume from another host or process is refused "
            "while the run's heartbeat is younger than three of these, and takes the run "
            "over once it is older (hosts must agree on the interval and on the time)."
        ),
    )
    manifest: Path | None = Field(
        default=None, description="Manifest file used when --manifest is not given."
    )
    trace_content: bool = Field(
        default=False,
        description=(
            "Record LLM prompts and completions on spans (AIOS_TRACE_CONTENT=1); the text "
            "passes the redaction hook before any exporter sees it."
        ),
    )
    args_key: SecretStr | None = Field(
        default=None,
        description=(
            "Fernet key(s) (AIOS_ARGS_KEY) that encrypt the real values of arguments whose "
            "secrets or personal data the run record keeps masked, so a run can resume; "
            "several keys separated by commas, newest first, during a rotation. Unset: the "
            "embedded SQLite store uses the key file <home>/args.key; with a database URL "
            "a run whose arguments needed masking is refused unless its action says "
            "`keep_arguments: false`."
        ),
    )
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("otlp_endpoint", "AIOS_OTLP_ENDPOINT",
                                      "OTEL_EXPORTER_OTLP_ENDPOINT"),
        description=(
            "Base URL of an OpenTelemetry collector (OTLP/HTTP), for example "
            "http://127.0.0.1:4318; spans go there as well as to the store. Read from "
            "OTEL_EXPORTER_OTLP_ENDPOINT (or AIOS_OTLP_ENDPOINT)."
        ),
    )
    executor: Literal["local", "ray"] = Field(
        default="local",
        description=(
            "Where handlers run (AIOS_EXECUTOR): `local` in this process (sync handlers in "
            "threads), `ray` as Ray tasks on worker processes. Setting AIOS_RAY_ADDRESS "
            "implies `ray`."
        ),
    )
    ray_address: str | None = Field(
        default=None,
        description=(
            "Ray cluster to run actions on (AIOS_RAY_ADDRESS): `auto` (the cluster this node "
            "joined with `ray start`), `host:6379` or `ray://host:10001`. Unset with "
            "AIOS_EXECUTOR=ray: a local Ray instance is started on this machine."
        ),
    )
    ray_driver_actions: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("orchestration.*", "discovery.*"),
        description=(
            "Action globs that run on the driver even with the Ray executor "
            "(AIOS_RAY_DRIVER_ACTIONS, comma-separated): actions that call `ctx.llm`, whose "
            "gateway (budgets, cost ledger, cache) lives in the driver process."
        ),
    )

    redis_url: str | None = Field(
        default=None,
        description=(
            "Redis URL (AIOS_REDIS_URL), for example redis://127.0.0.1:6379/0: where the "
            "OpenAI-compatible endpoint counts each key's requests, so several server "
            "processes share the limits (unset: in the process's memory)."
        ),
    )
    redis_prefix: str = Field(
        default="aios",
        description="Prefix of the endpoint's rate-limit keys in Redis (AIOS_REDIS_PREFIX).",
    )
    key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description=(
            "How long the server remembers an API key it verified (AIOS_KEY_CACHE_SECONDS; "
            "0: look it up on every request). A key revoked, or a user disabled, deleted or "
            "given another role, from another process takes effect within this time; "
            "expiry, and changes made through this server, apply at once."
        ),
    )

    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto",
        description=(
            "The `Secure` flag of the dashboard's cookies (AIOS_COOKIE_SECURE): `auto` sets it "
            "when the request came over https (behind a TLS proxy, `aios serve` trusts "
            "X-Forwarded-Proto from --forwarded-allow-ips), `always` or `never` force it."
        ),
    )

    @field_validator("ray_driver_actions", mode="before")
    @classmethod
    def _split_globs(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="before")
    @classmethod
    def _ray_address_implies_ray(cls, data: Any) -> Any:
        # A cluster address on its own is enough to mean "run on it".
        if isinstance(data, dict) and data.get("ray_address") and not data.get("executor"):
            return {**data, "executor": "ray"}
        return data

    def store_url(self) -> str:
        """The store URL: ``database_url`` when set, else the SQLite file under ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.home / 'aios.db'}"
