"""Approval channels: requests, escalations, expiries and outcomes delivered to people.

`spec` (the manifest entries) loads eagerly: the manifest schema imports it. The transports
(`webhook`, `email`), the notifier and the delivery log load on first use.
"""

from __future__ import annotations

from aios.approvals.channels.spec import (
    EVENTS,
    ChannelSpec,
    EmailChannel,
    LinkPolicy,
    WebhookChannel,
)

__all__ = ["EVENTS", "ChannelSpec", "EmailChannel", "LinkPolicy", "WebhookChannel"]
