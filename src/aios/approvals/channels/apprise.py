"""The `apprise` channel: one message to every service the Apprise URLs name.

Apprise (https://github.com/caronc/apprise) reaches about a hundred services through URLs
(`ntfys://topic`, `tgram://BOT/CHAT`, `msteams://...`, `mailto://...`, `json://host/path`).
The URLs carry the services' tokens, so the manifest names the variable holding them
(`urls_env`), and listings name each service by its kind and Apprise's id, never its URL.
Apprise's own retries are off (its default); the notifier retries a failed delivery like any
other channel's. The message is the notice's plain text with the request's link (Apprise
broadcasts: no per-user links).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from aios.approvals.channels.base import Notice, Receipt, channel, required_env
from aios.approvals.channels.spec import AppriseChannel
from aios.errors import ConfigError, DeliveryError
from aios.extras import import_extra

__all__ = ["Apprise"]

_SPLIT = re.compile(r"[\s,]+")


def _apprise() -> Any:
    return import_extra("apprise", "the `apprise` channel needs the apprise package: "
                                   "pip install 'aios[approvals]'")


@channel("apprise")
class Apprise:
    """Notify every service of `spec.urls_env`'s URLs.

    Raises:
        ConfigError: the variable is not set, holds no URL, or a URL Apprise cannot use (the
            message names the variable, the entry's position and its scheme, not the URL).
    """

    def __init__(self, spec: AppriseChannel, name: str, env: Mapping[str, str]):
        self.spec = spec
        self.name = name
        where = f"approvals.channels ({name}) urls_env"
        urls = [u for u in _SPLIT.split(required_env(env, spec.urls_env, where) or "") if u]
        if not urls:
            raise ConfigError(f"{where}: {spec.urls_env} holds no URL; set it to one or more "
                              "Apprise URLs (for example ntfys://my-topic)")
        self._apprise = _apprise().Apprise()
        for index, url in enumerate(urls, 1):
            if not self._apprise.add(url):
                scheme = url.partition("://")[0] if "://" in url else "(no scheme)"
                raise ConfigError(
                    f"{where}: URL {index} of {len(urls)} in {spec.urls_env} ({scheme}://...) "
                    "is not one Apprise can use; see https://github.com/caronc/apprise/wiki "
                    "for each service's URL format")
        self._services = ", ".join(f"{s.service_name} {s.url_id()}" for s in self._apprise)

    async def deliver(self, notice: Notice) -> Receipt:
        """Notify every service; any of them failing fails the attempt (retried whole)."""
        try:
            result = await asyncio.wait_for(self._apprise.async_notify(
                body=notice.text, title=f"[Ai:oS] {notice.headline}"), self.spec.timeout)
        except TimeoutError as exc:
            raise DeliveryError(f"apprise ({self._services}): no answer within "
                                f"{self.spec.timeout:g}s") from exc
        total = result.success_count + result.failed_count
        if result.failed_count or not result.success_count:
            problems = "; ".join(dict.fromkeys(
                entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR")))
            raise DeliveryError(f"apprise: {result.failed_count} of {total} service(s) did "
                                f"not accept the message: {problems or 'no detail'}")
        return Receipt(f"{result.success_count} service(s) accepted", self._services)
