"""The `aios` command's exit codes, defined once (the README's table is this one).

| code | meaning |
|---|---|
| 0 | done: the run succeeded, or it waits for approvals (the output says which) |
| 1 | the run (or a check: audit verify, an evaluation gate) failed |
| 2 | bad input (a manifest, argument, setting, file or id), or a store that cannot be
reached; nothing was executed |
| 130 | interrupted (Ctrl-C); the run is recorded as cancelled |
"""

from __future__ import annotations

__all__ = ["FAILED", "INTERRUPTED", "OK", "USAGE", "for_run"]

OK = 0
FAILED = 1
USAGE = 2
INTERRUPTED = 130

#: Run states that end a command successfully: a waiting run is not a failure, it resumes
#: once people decide (`aios approvals list`, then `aios runs resume`).
_FINE = frozenset({"succeeded", "waiting"})


def for_run(status: str) -> int:
    """The exit code of a command that ran something and ended in `status`."""
    return OK if status in _FINE else FAILED
