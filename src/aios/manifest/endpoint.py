"""The `endpoint:` manifest section: limits of the OpenAI-compatible endpoint's API keys.

Each API token is counted on its own (its own windows), against the requests-per-minute and
tokens-per-minute limits of the user it belongs to: `users.<name>` when set, else the
defaults `rpm` and `tpm`. A key made by `aios keys create --rpm/--tpm` carries its own
figures, which replace these for that key (`aios.auth.keys`).
"""

from __future__ import annotations

from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EndpointSpec", "KeyLimits"]


class KeyLimits(BaseModel):
    """Limits of one API key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rpm: int | None = Field(default=None, ge=1, description="Requests per minute of one key "
                            "(unset: no limit); over it the endpoint answers 429 with "
                            "Retry-After.")
    tpm: int | None = Field(default=None, ge=1, description="Tokens (prompt + completion) per "
                            "minute of one key, in fixed one-minute windows (unset: no "
                            "limit); a request arriving once the window is spent gets 429 "
                            "with Retry-After. The call that crosses the limit is answered.")


class EndpointSpec(BaseModel):
    """The OpenAI-compatible endpoint (`/v1/chat/completions`, `/v1/models`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rpm: int | None = Field(default=None, ge=1, description="Requests per minute of every "
                            "API key whose user has no entry under `users:` (unset: none).")
    tpm: int | None = Field(default=None, ge=1, description="Tokens per minute of every API "
                            "key whose user has no entry under `users:` (unset: none).")
    users: dict[str, KeyLimits] = Field(
        default_factory=dict, description="Per-user limits of that user's keys, by user name.")

    def limits_of(self, user: str) -> KeyLimits:
        """The limits that apply to each key of `user`."""
        found = self.users.get(user)
        return found if found is not None else self.defaults

    @cached_property
    def defaults(self) -> KeyLimits:
        """The limits of keys whose user has no entry under `users:` (built once: the
        endpoint asks on every request)."""
        return KeyLimits(rpm=self.rpm, tpm=self.tpm)
