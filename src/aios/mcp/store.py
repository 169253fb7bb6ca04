"""What the MCP gateway keeps in the store: pinned upstream tool definitions, open tool calls.

A pin is the SHA-256 of a tool's definition (name, description, input schema, annotations)
the first time it was listed. A later listing with another hash is refused (rug pull, tool
poisoning after approval) and kept as `pending` until someone trusts it. A call row ties an
MCP tool call (tool, argument hash, caller) to the run it started, so calling again with the
same arguments while that run waits for approval resumes it instead of starting another.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Table, insert, select, update

from aios.approvals.canonical import canonical_json, sha256_hex
from aios.errors import NotFoundError
from aios.store import columns as col
from aios.store.engine import Store
from aios.store.runs import utcnow
from aios.store.tables import metadata

__all__ = ["CallStore", "McpCall", "Pin", "PinStore", "definition_hash", "mcp_calls",
           "mcp_pins"]

mcp_pins = Table(
    "mcp_pins",
    metadata,
    col.string("server", 100, primary_key=True),
    col.string("tool", 200, primary_key=True),  # the upstream tool name
    col.string("pinned_hash", 64),
    col.json("definition"),
    col.string("pending_hash", 64, null=True),  # a changed definition, refused
    col.json("pending_definition", null=True),
    col.timestamp("pinned_at"),
    col.timestamp("changed_at", null=True),
    col.string("trusted_by", 200, null=True),
)

mcp_calls = Table(
    "mcp_calls",
    metadata,
    col.string("id", 32, primary_key=True),
    col.string("call_key", 64),  # tool + argument hash + caller
    col.string("tool", 200),
    col.string("requester", 200),
    col.string("run_id", 32),
    col.string("status", 16),  # open | delivered
    col.timestamp("created_at"),
    col.timestamp("delivered_at", null=True),
    Index("ix_mcp_calls_key", "call_key", "status"),
)


def definition_hash(definition: dict[str, Any]) -> str:
    """The SHA-256 of a tool definition's canonical JSON."""
    return sha256_hex(canonical_json(definition))


@dataclass(frozen=True)
class Pin:
    """The pinned definition of one upstream tool."""

    server: str
    tool: str
    pinned_hash: str
    pending_hash: str | None
    pinned_at: datetime
    changed_at: datetime | None
    trusted_by: str | None


class PinStore:
    """Pins of upstream tool definitions: trust on first listing, refuse changes."""

    def __init__(self, store: Store):
        self.store = store

    async def check(self, server: str, tool: str, definition: dict[str, Any]) -> str:
        """Pin a first-seen definition; compare a known one.

        Returns:
            `new` (pinned now), `same`, or `changed` (recorded as pending; refused until
            `trust`).
        """
        digest = definition_hash(definition)
        now = utcnow()
        async with self.store.engine.begin() as conn:
            row = (await conn.execute(select(mcp_pins).where(
                mcp_pins.c.server == server, mcp_pins.c.tool == tool))).mappings().first()
            if row is None:
                await conn.execute(insert(mcp_pins).values(
                    server=server, tool=tool, pinned_hash=digest, definition=definition,
                    pending_hash=None, pending_definition=None, pinned_at=now,
                    changed_at=None, trusted_by=None))
                return "new"
            if row["pinned_hash"] == digest:
                if row["pending_hash"] is not None:  # changed back: nothing to trust
                    await conn.execute(update(mcp_pins).where(
                        mcp_pins.c.server == server, mcp_pins.c.tool == tool).values(
                        pending_hash=None, pending_definition=None))
                return "same"
            if row["pending_hash"] != digest:
                await conn.execute(update(mcp_pins).where(
                    mcp_pins.c.server == server, mcp_pins.c.tool == tool).values(
                    pending_hash=digest, pending_definition=definition, changed_at=now))
            return "changed"

    async def trust(self, server: str, tool: str | None, *, actor: str) -> list[str]:
        """Accept the pending definitions of `server` (one tool, or all); returns the tools.

        Raises:
            NotFoundError: nothing of that server (and tool) waits to be trusted.
        """
        query = select(mcp_pins).where(mcp_pins.c.server == server,
                                       mcp_pins.c.pending_hash.is_not(None))
        if tool is not None:
            query = query.where(mcp_pins.c.tool == tool)
        trusted: list[str] = []
        async with self.store.engine.begin() as conn:
            for row in (await conn.execute(query)).mappings().all():
                await conn.execute(update(mcp_pins).where(
                    mcp_pins.c.server == server, mcp_pins.c.tool == row["tool"]).values(
                    pinned_hash=row["pending_hash"], definition=row["pending_definition"],
                    pending_hash=None, pending_definition=None, pinned_at=utcnow(),
                    trusted_by=actor))
                trusted.append(str(row["tool"]))
        if not trusted:
            what = f"{server}.{tool}" if tool else server
            raise NotFoundError(f"no changed tool definition of {what} waits to be trusted; "
                                "`aios mcp tools` shows the pins")
        return trusted

    async def list(self, server: str | None = None) -> list[Pin]:
        """Every pin (of one server), by server and tool."""
        query = select(mcp_pins).order_by(mcp_pins.c.server, mcp_pins.c.tool)
        if server is not None:
            query = query.where(mcp_pins.c.server == server)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [Pin(r["server"], r["tool"], r["pinned_hash"], r["pending_hash"],
                    r["pinned_at"], r["changed_at"], r["trusted_by"]) for r in rows]


@dataclass(frozen=True)
class McpCall:
    """A tool call that started a run whose outcome has not been delivered yet."""

    id: str
    run_id: str


class CallStore:
    """Open tool calls by (tool, arguments, caller)."""

    def __init__(self, store: Store):
        self.store = store

    @staticmethod
    def key(tool: str, args: dict[str, Any], requester: str) -> str:
        """The identity of a call: the same tool, arguments and caller."""
        return sha256_hex(canonical_json({"tool": tool, "args": args, "by": requester}))

    async def open_call(self, key: str) -> McpCall | None:
        """The undelivered call with `key`, if any (the newest)."""
        query = (select(mcp_calls.c.id, mcp_calls.c.run_id)
                 .where(mcp_calls.c.call_key == key, mcp_calls.c.status == "open")
                 .order_by(mcp_calls.c.created_at.desc()).limit(1))
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return McpCall(str(row[0]), str(row[1])) if row else None

    async def record(self, key: str, *, tool: str, requester: str, run_id: str) -> McpCall:
        """Record that a call started `run_id` and its outcome is not delivered yet."""
        call_id = uuid.uuid4().hex
        async with self.store.engine.begin() as conn:
            await conn.execute(insert(mcp_calls).values(
                id=call_id, call_key=key, tool=tool, requester=requester, run_id=run_id,
                status="open", created_at=utcnow(), delivered_at=None))
        return McpCall(call_id, run_id)

    async def delivered(self, call_id: str) -> None:
        """The outcome reached the caller: the next identical call starts a new run."""
        async with self.store.engine.begin() as conn:
            await conn.execute(update(mcp_calls).where(mcp_calls.c.id == call_id).values(
                status="delivered", delivered_at=utcnow()))
