"""Verifying the audit chain: recompute each record's hash and link, and compare the end
with the chain head (`AuditLog.verify`, `aios audit verify`, and exported files).

The walk stops at the first broken link and names it: a record edited (hash or canonical
form), deleted or reordered (sequence and `prev_hash`), or rows rewritten around the head.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aios.approvals.canonical import canonical_json, sha256_hex

__all__ = ["GENESIS", "ChainChecker", "VerifyReport", "verify_records"]

#: The `prev_hash` of the first record.
GENESIS = "0" * 64

#: The columns stored beside the record, each checked against the hashed body.
_COLUMNS = ("seq", "at", "kind", "actor", "request_id", "run_id", "prev_hash")


@dataclass(frozen=True)
class VerifyReport:
    """The result of recomputing the chain.

    Attributes:
        ok: True when every link holds.
        records: how many records were checked.
        broken_seq: the sequence number of the first broken link, if any.
        problem: what is wrong there, in words.
        head_seq: the sequence number the chain head records.
    """

    ok: bool
    records: int
    broken_seq: int | None = None
    problem: str | None = None
    head_seq: int | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.records} records, head at seq {self.head_seq}"
        if self.broken_seq is None:
            return f"audit chain broken: {self.problem}"
        return f"audit chain broken at seq {self.broken_seq}: {self.problem}"


@dataclass
class ChainChecker:
    """Walks records in sequence order and stops at the first broken link."""

    expected: int = 1
    prev_hash: str = GENESIS
    prev_at: str = ""
    count: int = 0
    broken: VerifyReport | None = field(default=None)

    def fail(self, seq: int, problem: str) -> None:
        self.broken = VerifyReport(False, self.count, seq, problem)

    def check(self, row: Mapping[str, Any]) -> bool:
        seq = int(row["seq"])
        if seq != self.expected:
            what = "missing" if seq > self.expected else "out of order"
            self.fail(self.expected, f"record {self.expected} is {what} (found seq {seq} "
                                     "next): a record was deleted or the rows were reordered")
            return False
        raw = row["record"]
        try:
            body = json.loads(raw)
        except (TypeError, ValueError):
            self.fail(seq, "the record is not valid JSON: it was edited")
            return False
        if not isinstance(body, dict) or canonical_json(body) != raw:
            self.fail(seq, "the record is not in canonical form: it was edited")
            return False
        if sha256_hex(raw) != row["hash"]:
            self.fail(seq, "its hash does not match its content: the record was edited")
            return False
        for column in _COLUMNS:
            if column in row and body.get(column) != row[column]:
                self.fail(seq, f"column {column!r} is {row[column]!r} but the hashed record "
                               f"says {body.get(column)!r}: the row was edited or reordered")
                return False
        if body.get("prev_hash") != self.prev_hash:
            self.fail(seq, f"it does not link to record {seq - 1} (prev_hash differs): a "
                           "record before it was edited, deleted or reordered")
            return False
        if str(body.get("at", "")) < self.prev_at:
            self.fail(seq, "its time is earlier than the record before it: reordered")
            return False
        self.prev_hash, self.prev_at = row["hash"], str(body.get("at", ""))
        self.expected += 1
        self.count += 1
        return True

    def finish(self, head: Mapping[str, Any] | None) -> VerifyReport:
        if self.broken is not None:
            return self.broken
        last = self.expected - 1
        if head is None:
            if last:
                return VerifyReport(False, self.count, last, "the chain head row is missing")
            return VerifyReport(True, 0, head_seq=0)
        head_seq = int(head["seq"])
        if head_seq > last:
            return VerifyReport(False, self.count, last + 1,
                                f"the chain head records seq {head_seq} but the log ends at "
                                f"seq {last}: records at the end were deleted")
        if head_seq < last:
            return VerifyReport(False, self.count, head_seq + 1,
                                f"records after seq {head_seq} (the chain head) were added "
                                "outside the audit log")
        if last and head["hash"] != self.prev_hash:
            return VerifyReport(False, self.count, last,
                                "its hash differs from the one the chain head records: the "
                                "last record was rewritten")
        return VerifyReport(True, self.count, head_seq=last)


def verify_records(records: Iterable[Mapping[str, Any]],
                   head: Mapping[str, Any] | None = None) -> VerifyReport:
    """Check exported records (dicts with `record` text or a body plus `hash`), in order.

    Args:
        records: rows as stored, or `aios audit export` lines (their body is re-serialised).
        head: the chain head (`seq`, `hash`) to compare the end with; None to skip.
    """
    checker = ChainChecker()
    for rec in records:
        row = dict(rec)
        if "record" not in row:
            body = {k: v for k, v in row.items() if k != "hash"}
            row["record"] = canonical_json(body)
        if not checker.check(row):
            break
    if head is None and checker.broken is None:
        return VerifyReport(True, checker.count, head_seq=checker.expected - 1)
    return checker.finish(head)
