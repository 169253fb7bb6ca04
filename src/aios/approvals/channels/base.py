"""The channel interface (`deliver(notice) -> receipt`) and the registry of channel types.

A channel type is a class registered under its manifest `type` with `@channel("NAME")`; it is
built from its manifest entry and the process environment (where its secrets are). Built-in
types: `webhook`, `email`, `slack`, `apprise`. A delivery that fails raises `DeliveryError`
(or any exception); the notifier records it and retries.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from aios.errors import ConfigError, DeliveryError
from aios.registry import Registry

__all__ = ["Channel", "DeliveryError", "Notice", "Receipt", "build_channel", "channel",
           "channel_types", "required_env"]


@dataclass(frozen=True)
class Notice:
    """One message about one request, for every channel: what, with which arguments, why.

    Attributes:
        event: created, escalated, expired, approved, rejected or withdrawn.
        request: the request as JSON (`ApprovalRequest.to_json`), effective arguments included.
        headline: one line (`approval needed: storage.wipe (critical)`).
        text: the plain-text body: what will run with which effective arguments, why, the
            risks, who must decide, and the link.
        link: the request's page on the dashboard.
        actor: who caused the event (a user, `policy`, the requester).
        recipients: user names who may decide now (escalation: the next group's members).
        links: user name -> that user's one-click link (signed, single use, expiring).
    """

    event: str
    request: Mapping[str, Any]
    headline: str
    text: str
    link: str
    actor: str
    recipients: tuple[str, ...] = ()
    links: Mapping[str, str] = field(default_factory=dict)

    @property
    def request_id(self) -> str:
        """The request's id."""
        return str(self.request["id"])

    def to_json(self) -> dict[str, Any]:
        """The webhook body (without the per-user links: those go to their users only)."""
        return {"type": "aios.approval", "event": self.event, "headline": self.headline,
                "text": self.text, "link": self.link, "actor": self.actor,
                "recipients": list(self.recipients), "request": dict(self.request)}


@dataclass(frozen=True)
class Receipt:
    """What a channel learnt from a delivery that worked (status code, message id, ...)."""

    detail: str
    target: str = ""


class Channel(Protocol):
    """A way to reach people. `name` labels its deliveries in listings and the audit log."""

    name: str
    spec: Any

    async def deliver(self, notice: Notice) -> Receipt:
        """Send `notice`; raise (DeliveryError) when it was not accepted."""
        ...


ChannelFactory = Callable[[Any, str, Mapping[str, str]], Channel]
_TYPES: Registry[ChannelFactory] = Registry("channel type")
_BUILTIN = {"webhook": "aios.approvals.channels.webhook",
            "email": "aios.approvals.channels.email",
            "slack": "aios.approvals.channels.slack",
            "apprise": "aios.approvals.channels.apprise"}


def channel(type_: str) -> Callable[[ChannelFactory], ChannelFactory]:
    """Register a channel class (called as `cls(spec, name, env)`) under a manifest `type`."""

    return _TYPES.register(type_)


def channel_types() -> list[str]:
    """Every registered channel type (the built-in ones load on first use)."""
    for module in _BUILTIN.values():
        importlib.import_module(module)
    return _TYPES.names()


def build_channel(spec: BaseModel, index: int, env: Mapping[str, str]) -> Channel:
    """The channel of manifest entry `approvals.channels[index]`.

    Raises:
        ConfigError: an unknown type, or a secret variable the entry names is not set.
    """
    type_ = str(getattr(spec, "type", ""))
    if type_ not in _TYPES and type_ in _BUILTIN:
        importlib.import_module(_BUILTIN[type_])
    if type_ not in _TYPES:
        raise ConfigError(f"approvals.channels[{index}]: unknown channel type {type_!r} "
                          f"(known: {', '.join(channel_types())})")
    name = getattr(spec, "name", None) or f"{type_}.{index}"
    return _TYPES[type_](spec, name, env)


def required_env(env: Mapping[str, str], variable: str | None, where: str) -> str | None:
    """The value of `variable` from `env` (None when no variable is named).

    Raises:
        ConfigError: the variable is named but not set; the message says where and how.
    """
    if variable is None:
        return None
    value = env.get(variable)
    if not value:
        raise ConfigError(f"{where}: the environment variable {variable} is not set; export "
                          f"it (export {variable}=...) before starting Ai:oS, or remove the "
                          "entry")
    return value
