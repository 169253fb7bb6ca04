"""Real receivers for the channel tests: an HTTP webhook receiver that checks signatures, an
SMTP inbox (aiosmtpd), and a port nobody listens on. Everything on 127.0.0.1, ephemeral ports."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Hit:
    """One POST the receiver got."""

    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver; `mode` is ok | fail (HTTP 500) | slow (answers after `delay`)."""

    secret: str = "s3cret-hook-key"
    mode: str = "ok"
    delay: float = 3.0
    hits: list[Hit] = field(default_factory=list)
    got: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        stamp = headers.get("X-Aios-Timestamp", "")
        expected = "sha256=" + hmac.new(self.secret.encode(), stamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers.get("X-Aios-Signature", ""))

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items()}
                receiver.hits.append(Hit(headers, body, receiver.verify(headers, body)))
                receiver.got.set()
                if receiver.mode == "slow":
                    time.sleep(receiver.delay)
                status = 500 if receiver.mode == "fail" else 200
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b"internal error" if status == 500 else b"ok")
                except OSError:
                    pass  # the sender gave up waiting (the slow case)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def dead_url() -> str:
    """A URL on a port that was free a moment ago and has no listener."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


class Inbox:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.got = asyncio.Event()

    async def handle_DATA(self, server: SMTP, session: Session,
                          envelope: Envelope) -> str:
        data = envelope.original_content or b""
        self.messages.append(message_from_bytes(data))
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        self.got.set()
        return "250 Message accepted for delivery"


async def start_smtp(inbox: Inbox) -> tuple[asyncio.Server, int]:
    """An SMTP server on the running loop, on an ephemeral port of 127.0.0.1."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(inbox, hostname="aios-test"),
                                      "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def body_text(message: Message) -> str:
    """The plain-text body of a received message."""
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode("utf-8").replace("\r\n", "\n")


@dataclass
class ScriptedSlack:
    """A scripted Slack Web API on 127.0.0.1: `chat.postMessage` answers `answer` (ok by
    default) and records each call; GET /healthz answers 200 (a reachable dashboard)."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    answer: dict[str, Any] = field(default_factory=lambda: {"ok": True, "ts": "1700.0001"})
    server: ThreadingHTTPServer | None = None

    @property
    def api_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> ScriptedSlack:
        slack = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200 if self.path == "/healthz" else 404)
                self.end_headers()

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if "json" in self.headers.get("Content-Type", ""):
                    data = json.loads(raw)
                else:
                    from urllib.parse import parse_qs

                    data = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    if isinstance(data.get("blocks"), str):
                        data["blocks"] = json.loads(data["blocks"])
                slack.calls.append({"path": self.path,
                                    "auth": self.headers.get("Authorization"), **data})
                body = json.dumps(slack.answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
