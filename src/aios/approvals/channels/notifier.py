"""`Notifier`: delivers request events to the manifest's channels, in the background.

It is an `ApprovalService` listener. The service calls it synchronously after each committed
change; it only schedules a task and returns, so the run that filed a request suspends as
soon as it would without channels. Each task loads the request, builds one notice and sends
it to every channel that wants the event (secrets and personal data in the arguments
masked), each delivery retried with exponential backoff
(tenacity, bounded by the channel's `retries`); every attempt is recorded and audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from tenacity import AsyncRetrying, stop_after_attempt, wait_exponential

from aios.approvals.channels.base import Channel, Notice, build_channel
from aios.approvals.channels.deliveries import FAILED, RETRYING, SENT, DeliveryLog
from aios.approvals.channels.masking import Masking, masking
from aios.approvals.channels.notice import LinkMaker, build_notice
from aios.approvals.channels.spec import LinkPolicy
from aios.approvals.policy import LEVELS, ApprovalPolicy
from aios.approvals.workflow import ApprovalEvent, ApprovalService
from aios.auth.users import UserStore
from aios.store.runs import utcnow

__all__ = ["NOTIFIED", "Notifier", "attach_channels"]

log = logging.getLogger("aios.approvals.channels")

#: Service events that reach channels (`auto_approved` rides on `created`).
NOTIFIED = frozenset({"created", "escalated", "expired", "approved", "rejected", "withdrawn"})


class Notifier:
    """Sends each notified event of one `ApprovalService` to its channels.

    Args:
        service: the service whose events are delivered (its store records the attempts).
        channels: the built channels.
        links: where notices link to (`approvals.links`).
        make_link: issues a user's one-click link (None: only the shared request link).
        clock: the time recorded with each attempt.
        sleep: how to wait between attempts (tests pass a fast one).
    """

    def __init__(self, service: ApprovalService, channels: Sequence[Channel], *,
                 links: LinkPolicy | None = None, make_link: LinkMaker | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep):
        self.service = service
        self.channels = list(channels)
        self.links = links or LinkPolicy()
        self.make_link = make_link
        self.clock = clock
        self.sleep = sleep
        self.log = DeliveryLog(service.requests, service.audit)
        self._tasks: set[asyncio.Task[None]] = set()
        self._mask: Masking | None = None

    def __call__(self, event: ApprovalEvent) -> None:
        """The listener: schedule the deliveries of `event` and return at once."""
        if event.kind not in NOTIFIED or not self.channels:
            return
        task = asyncio.get_running_loop().create_task(self._notify(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        """Events whose deliveries are still running."""
        return len(self._tasks)

    async def drain(self, within: float | None = None) -> bool:
        """Wait until every scheduled delivery finished (True) or `within` s passed (False)."""
        if not self._tasks:
            return True
        _, pending = await asyncio.wait(set(self._tasks), timeout=within)
        return not pending

    async def aclose(self, grace: float = 10.0) -> None:
        """Give running deliveries `grace` seconds, then stop them (recorded as failed)."""
        if await self.drain(grace):
            return
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _notify(self, event: ApprovalEvent) -> None:
        try:
            req = await self.service.get(event.request_id)
            wanted = [c for c in self.channels if self._wants(c, event.kind, req.criticality)]
            if not wanted:
                return
            users = await UserStore(self.service.store).list()
            if self._mask is None:  # the detectors' first import is slow: off the loop
                self._mask = await asyncio.to_thread(masking)
            notice = await build_notice(event.kind, req, event.actor,
                                        base_url=self.links.base_url, users=users,
                                        make_link=self.make_link, mask=self._mask)
        except Exception:  # a broken notice must not break the service's caller
            log.exception("could not build the notice of %s on %s", event.kind,
                          event.request_id)
            return
        await asyncio.gather(*(self._deliver(c, notice, event.run_id) for c in wanted))

    @staticmethod
    def _wants(channel: Channel, kind: str, criticality: str) -> bool:
        spec = channel.spec
        return (kind in spec.events
                and LEVELS.index(criticality) >= LEVELS.index(spec.min_criticality))

    async def _deliver(self, channel: Channel, notice: Notice, run_id: str) -> None:
        spec = channel.spec
        attempts = spec.retries + 1
        number = 0

        async def record(status: str, detail: str, target: str = "") -> None:
            try:
                await self.log.record(
                    request_id=notice.request_id, run_id=run_id, event=notice.event,
                    channel=channel.name, target=target or getattr(spec, "url", ""),
                    attempt=number, status=status, detail=detail, at=self.clock())
            except Exception:
                log.exception("could not record a delivery attempt of %s", channel.name)

        try:
            async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(attempts), reraise=True, sleep=self.sleep,
                    wait=wait_exponential(multiplier=spec.backoff, max=30)):
                with attempt:
                    number = attempt.retry_state.attempt_number
                    try:
                        receipt = await asyncio.wait_for(channel.deliver(notice), spec.timeout)
                    except Exception as exc:
                        detail = (f"no answer within {spec.timeout:g}s"
                                  if isinstance(exc, TimeoutError) else str(exc))
                        await record(FAILED if number >= attempts else RETRYING,
                                     f"{type(exc).__name__}: {detail}")
                        raise
                    await record(SENT, receipt.detail, receipt.target)
        except asyncio.CancelledError:
            await record(FAILED, "abandoned: the process stopped before the delivery ended")
            raise
        except Exception as exc:
            log.warning("approval %s of %s: channel %s failed after %d attempt(s): %s",
                        notice.event, notice.request_id[:12], channel.name, number, exc)


def attach_channels(service: ApprovalService, policy: ApprovalPolicy, *,
                    env: Mapping[str, str] | None = None,
                    make_link: LinkMaker | None = None) -> Notifier | None:
    """Build the channels of `policy.channels` and add a `Notifier` to `service`'s listeners.

    A channel that names `users` (e-mail) sends each user who may decide a one-click link of
    their own, issued by a `LinkSigner` unless `make_link` is given.

    Returns:
        The notifier (close it with `aclose` before the store), or None without channels.

    Raises:
        ConfigError: an unknown channel type, or a secret variable that is not set.
    """
    if not policy.channels:
        return None
    environ = os.environ if env is None else env
    channels = [build_channel(spec, i, environ) for i, spec in enumerate(policy.channels)]
    if make_link is None and any(getattr(spec, "users", None) for spec in policy.channels):
        from aios.approvals.links import LinkSigner

        make_link = LinkSigner(service.store, policy.links, env=environ).issue
    notifier = Notifier(service, channels, links=policy.links, make_link=make_link)
    service.listeners.append(notifier)
    return notifier
