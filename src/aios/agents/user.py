"""User meta-agent: who is logged in, and which local accounts can log in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil

from aios.agents._host import iso
from aios.runtime.context import ActionContext
from aios.runtime.handlers import handler

__all__ = ["accounts", "is_login_shell", "sessions"]

#: Shells that mean "this account cannot log in interactively".
_NO_LOGIN = frozenset({"nologin", "false", "true", "sync", "shutdown", "halt"})


def is_login_shell(shell: str) -> bool:
    """True when `shell` (the last /etc/passwd field) allows an interactive login."""
    return bool(shell) and shell.rsplit("/", 1)[-1] not in _NO_LOGIN


@handler("user.sessions")
def sessions(ctx: ActionContext) -> dict[str, Any]:
    """Logged-in users from utmp (psutil.users()).

    Returns:
        {"available", "error", "sessions": [{user, terminal, host, started, pid}],
        "count", "users": [distinct names]}.
    """
    try:
        users = psutil.users()
        error = None
    except OSError as exc:  # no utmp (minimal containers) is not a failure of the host
        users, error = [], f"unavailable: {exc.strerror or exc}"
    rows = [{"user": u.name, "terminal": u.terminal, "host": u.host or None,
             "started": iso(u.started), "pid": u.pid} for u in users]
    names = sorted({u.name for u in users if u.name})
    ctx.publish_metadata("session_count", len(rows))
    ctx.publish_metadata("logged_in_users", names)
    return {"available": error is None, "error": error, "sessions": rows, "count": len(rows),
            "users": names}


@handler("user.accounts")
def accounts(ctx: ActionContext) -> dict[str, Any]:
    """Local accounts from /etc/passwd (path overridable with `args.passwd`).

    Returns:
        {"available", "error", "count", "login_accounts": [{name, uid, shell, home}],
        "uid0_accounts": [names], "malformed_lines": int}.
    """
    path = Path(str(ctx.args.get("passwd") or "/etc/passwd"))
    result: dict[str, Any] = {"available": False, "error": None, "count": 0,
                              "login_accounts": [], "uid0_accounts": [], "malformed_lines": 0}
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        result["error"] = f"unavailable: {path}: {exc.strerror or exc}"
        ctx.publish_metadata("error", result["error"])
        return result
    result["available"] = True
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", "+", "-")):  # NIS compat entries
            continue
        fields = line.split(":")
        if len(fields) != 7 or not fields[2].isdigit():
            result["malformed_lines"] += 1
            continue
        name, uid, home, shell = fields[0], int(fields[2]), fields[5], fields[6]
        result["count"] += 1
        if uid == 0:
            result["uid0_accounts"].append(name)
        if is_login_shell(shell):
            result["login_accounts"].append({"name": name, "uid": uid, "shell": shell,
                                             "home": home})
    ctx.publish_metadata("account_count", result["count"])
    ctx.publish_metadata("login_accounts", [a["name"] for a in result["login_accounts"]])
    ctx.publish_metadata("uid0_accounts", result["uid0_accounts"])
    return result
