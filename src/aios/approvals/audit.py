"""The audit trail: an append-only, hash-chained log of every approval event.

Each record holds a sequence number, the store's time, what happened, who did it, and the
SHA-256 of the record before it; its own hash covers all of that (canonical JSON). Editing,
deleting or reordering any row breaks the chain at that row, and `verify` names it.

Appends are serialised by a one-row chain head (`audit_head`): the first statement of an
append is an UPDATE of that row, which takes SQLite's write lock (the whole transaction is
then serialised) and PostgreSQL's row lock (held to commit), so two writers never read the
same head and the chain never forks. Appends run inside the caller's transaction, so a
decision and its audit record commit together or not at all.

Hashes alone do not stop someone who can write the store: they can recompute every hash and
move the head. Two things do (`AuditSeal`, from the environment):

* `AIOS_AUDIT_KEY`: each append signs the head, HMAC-SHA256 over its seq and hash, in
  `audit_head.mac`; `verify` recomputes it, so a chain rewritten without the key fails.
* `AIOS_AUDIT_ANCHOR`: a file outside the store (a path the operator chooses, on another
  volume or synced elsewhere) rewritten with the head's seq, hash and signature on each
  append; `verify` checks that the chain still holds that record, so deleting records at the
  end and moving the head back fails. The anchor is written inside the append's
  transaction, before its commit: if that commit then fails, the anchor is one append ahead
  and `verify` reports it until the next append rewrites it.

Whatever is set, `verify` also fails when an approval request has no audit record at all (an
emptied log does not read "intact" while decided requests remain).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Index, Table, exists, insert, literal, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from aios.approvals.audit_verify import GENESIS, ChainChecker, VerifyReport, verify_records
from aios.approvals.canonical import canonical_json, sha256_hex
from aios.approvals.requests import approval_requests
from aios.store import columns as col
from aios.store.engine import Store
from aios.store.tables import ROW_ID, metadata

__all__ = ["ANCHOR_ENV", "GENESIS", "KEY_ENV", "AuditLog", "AuditRecord", "AuditSeal", "Entry",
           "VerifyReport", "audit_head", "audit_log", "verify_records"]

#: The variable holding the key that signs the chain head (any text; 32+ random bytes).
KEY_ENV = "AIOS_AUDIT_KEY"
#: The variable naming the anchor file kept outside the store.
ANCHOR_ENV = "AIOS_AUDIT_ANCHOR"

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", ROW_ID, primary_key=True,
           autoincrement=False),
    col.string("at", 40),
    col.string("kind", 40),
    col.string("actor", 200),
    col.string("request_id", 32, null=True),
    col.string("run_id", 32, null=True),
    col.text("record"),  # the canonical JSON the hash covers
    col.string("prev_hash", 64),
    col.string("hash", 64),
    Index("ix_audit_log_request", "request_id"),
)

# One row (id 1): the last sequence number and hash. Its UPDATE is the append lock.
audit_head = Table(
    "audit_head",
    metadata,
    col.integer("id", primary_key=True, autoincrement=False),
    Column("seq", ROW_ID, nullable=False),
    col.string("hash", 64),
    col.string("at", 40),
    col.string("mac", 64, null=True),  # HMAC of (seq, hash) under AIOS_AUDIT_KEY
)


@dataclass(frozen=True)
class AuditSeal:
    """What protects the chain head beyond its hashes: a signing key and an outside anchor.

    Attributes:
        key: the HMAC key (None: the head is not signed).
        anchor: the anchor file (None: no anchor is kept).
    """

    key: bytes | None = None
    anchor: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuditSeal:
        """From AIOS_AUDIT_KEY and AIOS_AUDIT_ANCHOR (unset or empty: not used)."""
        env = os.environ if environ is None else environ
        key = env.get(KEY_ENV) or None
        anchor = env.get(ANCHOR_ENV) or None
        return cls(key.encode("utf-8") if key else None,
                   Path(anchor).expanduser() if anchor else None)

    def mac(self, seq: int, hash_: str) -> str | None:
        """The head's signature, or None without a key."""
        if self.key is None:
            return None
        return hmac.new(self.key, f"{seq}:{hash_}".encode(), hashlib.sha256).hexdigest()

    def write_anchor(self, seq: int, hash_: str, at: str) -> None:
        """Replace the anchor file (atomically) with the head's seq, hash and signature."""
        if self.anchor is None:
            return
        self.anchor.parent.mkdir(parents=True, exist_ok=True)
        partial = self.anchor.with_name(f".{self.anchor.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps({"seq": seq, "hash": hash_, "at": at,
                                       "mac": self.mac(seq, hash_)}) + "\n")
        os.replace(partial, self.anchor)

    def read_anchor(self) -> dict[str, Any] | None:
        """The anchor's content; None when the file does not exist."""
        if self.anchor is None or not self.anchor.exists():
            return None
        value = json.loads(self.anchor.read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else {}

#: The store's clock, per dialect, as ISO 8601 UTC text (other dialects: this process's).
_STORE_NOW: dict[str, str] = {
    "postgresql": "to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                  "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    "sqlite": "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
}

#: INSERT ... ON CONFLICT DO NOTHING, per dialect.
_INSERT_IGNORE: dict[str, Callable[[Table], Any]] = {
    "postgresql": postgresql.insert, "sqlite": sqlite.insert}
_EMPTY_HEAD = {"id": 1, "seq": 0, "hash": GENESIS, "at": ""}

@dataclass(frozen=True)
class Entry:
    """A record to append: what happened, who did it, to which request and run."""

    kind: str
    actor: str
    data: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class AuditRecord:
    """One entry of the audit trail."""

    seq: int
    at: str
    kind: str
    actor: str
    request_id: str | None
    run_id: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """What the hash covers: everything but the hash itself."""
        return {"seq": self.seq, "at": self.at, "kind": self.kind, "actor": self.actor,
                "request_id": self.request_id, "run_id": self.run_id, "data": self.data,
                "prev_hash": self.prev_hash}

    def to_json(self) -> dict[str, Any]:
        """The body plus its hash: one line of `aios audit export`."""
        return {**self.body(), "hash": self.hash}


class AuditLog:
    """Appends to, reads and verifies the audit trail in the store.

    Args:
        store: the store.
        seal: the head's key and anchor; default `AuditSeal.from_env()`.
    """

    def __init__(self, store: Store, seal: AuditSeal | None = None):
        self.store = store
        self.seal = seal if seal is not None else AuditSeal.from_env()

    async def _bump(self, conn: AsyncConnection, count: int) -> tuple[int, str, str]:
        """Advance the head by `count`: (new last seq, previous hash, time), under its lock."""
        now_sql = _STORE_NOW.get(conn.dialect.name)
        now = literal_column(now_sql) if now_sql else literal(
            datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        bump = (update(audit_head).where(audit_head.c.id == 1)
                .values(seq=audit_head.c.seq + count)
                .returning(audit_head.c.seq, audit_head.c.hash, audit_head.c.at,
                           now.label("now")))
        row = (await conn.execute(bump)).first()
        if row is None:
            # The head row was removed (a store emptied by hand): recreate it, race-free.
            make = _INSERT_IGNORE.get(conn.dialect.name)
            if make is None:
                await conn.execute(insert(audit_head).values(**_EMPTY_HEAD))
            else:
                await conn.execute(make(audit_head).values(**_EMPTY_HEAD)
                                   .on_conflict_do_nothing())
            row = (await conn.execute(bump)).one()
        seq, prev_hash, last_at, now_text = row
        return int(seq), str(prev_hash), max(str(now_text), str(last_at))  # never earlier

    async def append_many(self, conn: AsyncConnection, entries: Sequence[Entry]
                          ) -> list[AuditRecord]:
        """Append `entries` in order, inside the caller's transaction on `conn`.

        The first statement takes the chain head's lock; the records commit (or roll back)
        with whatever else the caller's transaction writes.
        """
        if not entries:
            return []
        last, prev, at = await self._bump(conn, len(entries))
        records: list[AuditRecord] = []
        rows: list[dict[str, Any]] = []
        for seq, entry in enumerate(entries, start=last - len(entries) + 1):
            body = AuditRecord(seq=seq, at=at, kind=entry.kind, actor=entry.actor,
                               request_id=entry.request_id, run_id=entry.run_id,
                               data=json.loads(canonical_json(dict(entry.data))),
                               prev_hash=prev, hash="")
            raw = canonical_json(body.body())
            prev = sha256_hex(raw)
            records.append(AuditRecord(**{**body.__dict__, "hash": prev}))
            rows.append({"seq": seq, "at": at, "kind": entry.kind, "actor": entry.actor,
                         "request_id": entry.request_id, "run_id": entry.run_id,
                         "record": raw, "prev_hash": body.prev_hash, "hash": prev})
        await conn.execute(insert(audit_log), rows)
        await conn.execute(update(audit_head).where(audit_head.c.id == 1).values(
            hash=prev, at=at, mac=self.seal.mac(last, prev)))
        self.seal.write_anchor(last, prev, at)  # under the head's lock, so in order
        return records

    async def append(self, conn: AsyncConnection, kind: str, *, actor: str,
                     data: Mapping[str, Any] | None = None, request_id: str | None = None,
                     run_id: str | None = None) -> AuditRecord:
        """Append one record inside the caller's transaction on `conn`."""
        return (await self.append_many(conn, [Entry(kind, actor, dict(data or {}),
                                                    request_id, run_id)]))[0]

    async def record(self, kind: str, *, actor: str, data: Mapping[str, Any] | None = None,
                     request_id: str | None = None, run_id: str | None = None) -> AuditRecord:
        """Append one record in a transaction of its own."""
        async with self.store.engine.begin() as conn:
            return await self.append(conn, kind, actor=actor, data=data,
                                     request_id=request_id, run_id=run_id)

    async def rows(self, *, request_id: str | None = None,
                   batch: int = 2000) -> AsyncIterator[dict[str, Any]]:
        """Stored rows in sequence order, read in batches (constant memory)."""
        last = -1
        while True:
            query = (select(audit_log).where(audit_log.c.seq > last)
                     .order_by(audit_log.c.seq).limit(batch))
            if request_id is not None:
                query = query.where(audit_log.c.request_id == request_id)
            async with self.store.engine.connect() as conn:
                rows = (await conn.execute(query)).mappings().all()
            if not rows:
                return
            for row in rows:
                yield dict(row)
            last = int(rows[-1]["seq"])

    async def records(self, *, request_id: str | None = None) -> AsyncIterator[AuditRecord]:
        """Records in sequence order (optionally of one request)."""
        async for row in self.rows(request_id=request_id):
            body = json.loads(row["record"])
            yield AuditRecord(seq=int(row["seq"]), at=row["at"], kind=row["kind"],
                              actor=row["actor"], request_id=row["request_id"],
                              run_id=row["run_id"], data=body.get("data", {}),
                              prev_hash=row["prev_hash"], hash=row["hash"])

    async def head(self) -> dict[str, Any] | None:
        """The chain head row (`seq`, `hash`, `at`), or None in an empty store."""
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(audit_head).where(audit_head.c.id == 1))
                   ).mappings().first()
        return dict(row) if row is not None else None

    async def verify(self) -> VerifyReport:
        """Recompute the whole chain; the report names the first broken link.

        Then, with a key, check the head's signature; with an anchor, check the chain still
        holds the record it names; and always, that every approval request has records.
        """
        checker = ChainChecker()
        anchor = self.seal.read_anchor() if self.seal.anchor is not None else None
        anchored: str | None = None
        async for row in self.rows():
            if not checker.check(row):
                break
            if anchor is not None and int(row["seq"]) == anchor.get("seq"):
                anchored = str(row["hash"])
        head = await self.head()
        report = checker.finish(head)
        if not report.ok:
            return report
        problem = (self._signature_problem(head) or self._anchor_problem(anchor, anchored, report)
                   or await self._orphans())
        if problem is not None:
            return VerifyReport(False, report.records, problem[0], problem[1], report.head_seq)
        return report

    def _signature_problem(self, head: Mapping[str, Any] | None) -> tuple[int | None, str] | None:
        if self.seal.key is None or head is None or int(head["seq"]) == 0:
            return None
        seq = int(head["seq"])
        if head.get("mac") is None:
            return seq, (f"the chain head carries no signature although {KEY_ENV} is set: it "
                         "was removed, or every record predates the key (the next append "
                         "signs the head)")
        if not hmac.compare_digest(str(head["mac"]), self.seal.mac(seq, str(head["hash"])) or ""):
            return seq, (f"the chain head's signature does not match ({KEY_ENV}): the chain "
                         "was recomputed by someone without the key, or the key differs")
        return None

    def _anchor_problem(self, anchor: Mapping[str, Any] | None, anchored: str | None,
                        report: VerifyReport) -> tuple[int | None, str] | None:
        where = self.seal.anchor
        if where is None:
            return None
        if anchor is None:
            if report.records:
                return None, (f"the anchor file {where} ({ANCHOR_ENV}) does not exist; it is "
                              "written on every append (the next one recreates it)")
            return None
        try:
            seq, hash_ = int(anchor["seq"]), str(anchor["hash"])
        except (KeyError, TypeError, ValueError):
            return None, f"the anchor file {where} is not an anchor (seq, hash)"
        last = report.head_seq or 0
        if seq > last:
            return last + 1, (f"the anchor {where} records seq {seq} but the chain ends at seq "
                              f"{last}: records at the end were deleted and the head moved "
                              "back")
        if seq and anchored != hash_:
            return seq, (f"record {seq} differs from the anchor {where}: the chain was "
                         "rewritten since")
        return None

    async def _orphans(self) -> tuple[int | None, str] | None:
        """Approval requests without a single audit record (records were deleted)."""
        query = (select(approval_requests.c.id).where(~exists().where(
            audit_log.c.request_id == approval_requests.c.id)).limit(3))
        async with self.store.engine.connect() as conn:
            ids = list((await conn.execute(query)).scalars())
        if not ids:
            return None
        return None, (f"approval request{'s' if len(ids) > 1 else ''} "
                      f"{', '.join(i[:12] for i in ids)} ha{'ve' if len(ids) > 1 else 's'} "
                      "no audit record: records were deleted from the audit log")

    async def export(self, write: Callable[[str], Any]) -> int:
        """Write every record as one JSON line through `write`; return how many."""
        count = 0
        async for record in self.records():
            write(json.dumps(record.to_json(), sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
        return count
