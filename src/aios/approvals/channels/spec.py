"""The manifest's `approvals.channels:` and `approvals.links:` entries, validated at load.

A channel entry names its `type` (`webhook`, `email`, `slack`, `apprise`) and that type's
settings; secrets are never written in the manifest, only the names of the environment
variables that hold them.
Plain pydantic models, importable by the manifest schema without loading any transport.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

__all__ = ["EVENTS", "AppriseChannel", "ChannelSpec", "EmailChannel", "LinkPolicy",
           "SlackChannel", "WebhookChannel"]

#: The request events a channel can be told about (the default: all of them).
EventKind = Literal["created", "escalated", "expired", "approved", "rejected", "withdrawn"]
EVENTS: tuple[EventKind, ...] = ("created", "escalated", "expired", "approved", "rejected",
                                 "withdrawn")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


def _env_name(value: str) -> str:
    if not _ENV.match(value):
        raise ValueError(f"{value!r} is not an environment variable name; write the NAME of "
                         "the variable that holds the secret (for example HOOK_SECRET), never "
                         "the secret itself")
    return value


def _http_url(value: str, example: str = "") -> str:
    """`value`, if it is an http(s) URL with a host; `example` is shown in the error."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL"
                         + (f", for example {example}" if example else ""))
    return value


#: The name of an environment variable (never the secret itself).
EnvName = Annotated[str, AfterValidator(_env_name)]


class _Channel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str | None = Field(None, description="A label for listings; default `TYPE.INDEX`.")
    events: list[EventKind] = Field(
        default_factory=lambda: list(EVENTS),
        description=f"Events delivered ({', '.join(EVENTS)}); default: all.")
    min_criticality: Literal["low", "medium", "high", "critical"] = Field(
        "low", description="Only requests of this criticality or higher.")
    timeout: float = Field(5.0, gt=0, le=120, description="Seconds one attempt may take.")
    retries: int = Field(3, ge=0, le=10,
                         description="Attempts after the first failed one (bounded).")
    backoff: float = Field(0.5, gt=0, le=60,
                           description="Seconds before the first retry; doubled each time "
                                       "(at most 30 s).")


class WebhookChannel(_Channel):
    """POST a JSON body signed with HMAC-SHA256 (`X-Aios-Signature`) to a URL."""

    type: Literal["webhook"]
    url: str = Field(description="http(s) URL receiving the POST.")
    secret_env: EnvName | None = Field(
        None, description="Environment variable holding the HMAC secret; the receiver checks "
                          "`X-Aios-Signature: sha256=HMAC(secret, TIMESTAMP + '.' + BODY)`.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value, "https://hooks.example.com/aios")


class EmailChannel(_Channel):
    """Send an e-mail through an SMTP server (the standard library's `smtplib`)."""

    type: Literal["email"]
    host: str = Field("localhost", description="SMTP server.")
    port: int = Field(25, ge=1, le=65535, description="SMTP port (587 with starttls).")
    sender: str = Field(alias="from", description="The From address.")
    to: list[str] = Field(default_factory=list,
                          description="Addresses that get each message with the request's link.")
    users: dict[str, str] = Field(
        default_factory=dict,
        description="Ai:oS user name -> address: each user who may decide gets a personal "
                    "one-click link (signed, single use, expiring).")
    starttls: bool = Field(False, description="Upgrade the connection with STARTTLS.")
    username_env: EnvName | None = Field(None, description="Variable holding the SMTP user.")
    password_env: EnvName | None = Field(None,
                                         description="Variable holding the SMTP password.")

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not _ADDRESS.match(a)]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(map(repr, bad))}")
        return value

    @field_validator("users")
    @classmethod
    def _user_addresses(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [f"{k}: {a!r}" for k, a in value.items() if not _ADDRESS.match(a)]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
        return value


class SlackChannel(_Channel):
    """Post to a Slack channel through the official `slack-sdk` (Web API `chat.postMessage`).

    With `buttons` the message carries Approve / Reject buttons; Slack sends the click to
    `POST /api/slack/actions` (signed with the app's signing secret), and the click decides
    as the Ai:oS user linked to the clicking Slack user (`aios users link-slack NAME ID`); an
    unlinked Slack user cannot decide. Without buttons the message links to the request.
    """

    type: Literal["slack"]
    channel: str = Field(description="Channel id or name (C0123456789, #approvals).")
    token_env: EnvName = Field(description="Variable holding the bot token (xoxb-...).")
    signing_secret_env: EnvName | None = Field(
        None, description="Variable holding the app's signing secret; needed for buttons.")
    buttons: Literal["auto", "always", "never"] = Field(
        "auto", description="auto: buttons when the dashboard (`links.base_url`) answers, a "
                            "link otherwise.")
    api_url: str = Field("https://slack.com/api/", description="The Slack Web API base URL.")

    @field_validator("api_url")
    @classmethod
    def _api(cls, value: str) -> str:
        _http_url(value)
        return value if value.endswith("/") else value + "/"


class AppriseChannel(_Channel):
    """Notify through Apprise (the `apprise` package): one message to every service its URLs
    name (ntfy, Telegram, Teams, Discord, Matrix, Pushover, `mailto://`, `json://`, ...)."""

    type: Literal["apprise"]
    urls_env: EnvName = Field(
        description="Variable holding the Apprise URLs, separated by spaces or commas (they "
                    "carry the services' tokens, so they never go in the manifest).")


#: One entry of `approvals.channels:`, told apart by its `type`.
ChannelSpec = Annotated[WebhookChannel | EmailChannel | SlackChannel | AppriseChannel,
                        Field(discriminator="type")]


class LinkPolicy(BaseModel):
    """The `approvals.links:` section: where messages link to, and one-click links."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(
        "http://127.0.0.1:8000",
        description="The dashboard's address as approvers reach it (`aios serve`).")
    lifetime: float = Field(86400.0, gt=0, le=30 * 86400,
                            description="Seconds a one-click link stays valid.")
    secret_env: EnvName = Field(
        "AIOS_LINK_SECRET",
        description="Variable holding the key links are signed with; unset: a random key "
                    "kept in the store.")

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str) -> str:
        return _http_url(value, "https://aios.example.com").rstrip("/")
