"""The `email` channel: plain-text e-mail through SMTP (the standard library's `smtplib`).

Addresses in `to:` get the message with the request's link; each user in `users:` who may
decide the request gets a message of their own with a personal one-click link. `smtplib`
blocks, so each send runs in a worker thread, bounded by the channel's `timeout`.
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import make_msgid

from aios.approvals.channels.base import Notice, Receipt, channel, required_env
from aios.approvals.channels.spec import EmailChannel
from aios.errors import DeliveryError

__all__ = ["Email"]


@channel("email")
class Email:
    """Send each notice to `spec.to` and, personally linked, to the deciding `spec.users`."""

    def __init__(self, spec: EmailChannel, name: str, env: Mapping[str, str]):
        self.spec = spec
        self.name = name
        where = f"approvals.channels ({name})"
        self._user = required_env(env, spec.username_env, f"{where} username_env")
        self._password = required_env(env, spec.password_env, f"{where} password_env")

    def _messages(self, notice: Notice) -> list[EmailMessage]:
        out: list[EmailMessage] = []
        if self.spec.to:
            out.append(self._message(notice, self.spec.to, notice.text))
        for user, address in sorted(self.spec.users.items()):
            personal = notice.links.get(user)
            if personal is None:
                continue  # not someone who may decide now: the shared addresses suffice
            body = (f"{notice.text}\n\nYour one-click link (for {user} only; it opens the "
                    f"decision page after you sign in, works once and expires):\n{personal}\n")
            out.append(self._message(notice, [address], body))
        return out

    def _message(self, notice: Notice, to: list[str], body: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = f"[Ai:oS] {notice.headline}"
        message["From"] = self.spec.sender
        message["To"] = ", ".join(to)
        message["Message-ID"] = make_msgid(domain="aios.local")
        message["X-Aios-Request"] = notice.request_id
        message["X-Aios-Event"] = notice.event
        message.set_content(body)
        return message

    def _send(self, messages: list[EmailMessage]) -> str:
        try:
            with smtplib.SMTP(self.spec.host, self.spec.port, timeout=self.spec.timeout) as smtp:
                if self.spec.starttls:
                    smtp.starttls()
                if self._user is not None and self._password is not None:
                    smtp.login(self._user, self._password)
                for message in messages:
                    refused = smtp.send_message(message)
                    if refused:
                        raise DeliveryError(f"the SMTP server refused {sorted(refused)}")
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {self.spec.host}:{self.spec.port}: "
                                f"{type(exc).__name__}: {exc}") from exc
        return ", ".join(str(m["Message-ID"]) for m in messages)

    async def deliver(self, notice: Notice) -> Receipt:
        """Send the messages of `notice` (none when nobody listed should get it)."""
        messages = self._messages(notice)
        target = ", ".join(sorted({str(m["To"]) for m in messages}))
        if not messages:
            return Receipt("no recipient for this event", "")
        ids = await asyncio.to_thread(self._send, messages)
        return Receipt(f"{len(messages)} message(s) accepted: {ids}", target)
