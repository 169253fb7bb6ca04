"""Helpers shared by the meta-agents: argument checks, /proc reads, commands, process and
socket tables. Everything here is stateless; each call takes a fresh look at the host."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from aios.errors import ConfigError

__all__ = [
    "CommandResult",
    "arg_bool",
    "arg_choice",
    "arg_int",
    "arg_number",
    "arg_str",
    "is_loopback",
    "is_wildcard",
    "iso",
    "listening_sockets",
    "process_table",
    "read_proc",
    "run_command",
]

_MISSING = object()


def _arg(args: Mapping[str, Any], name: str, default: Any) -> Any:
    value = args.get(name, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise ConfigError(f"argument {name!r} is required")
        return default
    return value


def arg_int(args: Mapping[str, Any], name: str, default: Any = _MISSING, *,
            minimum: int | None = None, maximum: int | None = None) -> int:
    """`args[name]` as an int within bounds, or `default` when absent.

    Raises:
        ConfigError: when it is missing without a default, not an integer, or out of bounds.
    """
    value = _arg(args, name, default)
    # bool is an int subclass; `pid: true` is a mistake, not pid 1.
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        else:
            raise ConfigError(f"argument {name!r} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"argument {name!r} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"argument {name!r} must be <= {maximum}, got {value}")
    return value


def arg_number(args: Mapping[str, Any], name: str, default: Any = _MISSING, *,
               positive: bool = False, maximum: float | None = None) -> float:
    """`args[name]` as a float (`positive` requires > 0), or `default` when absent.

    Raises:
        ConfigError: when it is missing without a default, not a number, or out of bounds.
    """
    value = _arg(args, name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"argument {name!r} must be a number, got {value!r}")
    if value != value:  # NaN would slip through every comparison below
        raise ConfigError(f"argument {name!r} must be a number, got NaN")
    if positive and value <= 0:
        raise ConfigError(f"argument {name!r} must be > 0, got {value}")
    if value < 0:
        raise ConfigError(f"argument {name!r} must be >= 0, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"argument {name!r} must be <= {maximum}, got {value}")
    return float(value)


def arg_bool(args: Mapping[str, Any], name: str, default: bool) -> bool:
    """`args[name]` as a bool, or `default` when absent.

    Raises:
        ConfigError: when it is not a boolean.
    """
    value = _arg(args, name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"argument {name!r} must be true or false, got {value!r}")
    return value


def arg_str(args: Mapping[str, Any], name: str, default: Any = _MISSING) -> str:
    """`args[name]` as a non-empty string, or `default` when absent.

    Raises:
        ConfigError: when it is missing without a default, or not a non-empty string.
    """
    value = _arg(args, name, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"argument {name!r} must be a non-empty string, got {value!r}")
    return value


def arg_choice(args: Mapping[str, Any], name: str, choices: Iterable[str],
               default: Any = _MISSING) -> str:
    """`args[name]`, lower-cased, checked against `choices`.

    Raises:
        ConfigError: when it is missing without a default or not one of `choices`.
    """
    allowed = list(choices)
    value = arg_str(args, name, default).lower()
    if value not in allowed:
        raise ConfigError(f"argument {name!r} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def iso(timestamp: float) -> str:
    """A Unix timestamp as an ISO-8601 UTC string."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def read_proc(path: str) -> tuple[str | None, str | None]:
    """Read a small /proc or /sys file: (stripped text, None) or (None, why it is unavailable)."""
    try:
        return Path(path).read_text().strip(), None
    except FileNotFoundError:
        return None, "unavailable: not present on this kernel"
    except PermissionError:
        return None, "unavailable: permission denied"
    except OSError as exc:
        return None, f"unavailable: {exc.strerror or exc}"


@dataclass(frozen=True)
class CommandResult:
    """Outcome of `run_command`.

    Attributes:
        status: "ok", "not installed", "permission denied", "timeout" or "error".
        returncode: the exit status, None when the command did not run to completion.
        stdout: captured standard output.
        stderr: captured standard error, or the reason it did not run.
    """

    status: str
    returncode: int | None
    stdout: str
    stderr: str


def run_command(argv: list[str], timeout: float = 3.0) -> CommandResult:
    """Run `argv` without a shell, capturing output, killed after `timeout` seconds."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return CommandResult("not installed", None, "", f"{argv[0]}: not found")
    except PermissionError as exc:
        return CommandResult("permission denied", None, "", str(exc))
    except subprocess.TimeoutExpired:
        return CommandResult("timeout", None, "", f"{argv[0]} did not finish in {timeout}s")
    except OSError as exc:
        return CommandResult("error", None, "", str(exc))
    if proc.returncode == 0:
        return CommandResult("ok", 0, proc.stdout, proc.stderr)
    err = proc.stderr.lower()
    # nft and iptables both say this when run without CAP_NET_ADMIN.
    denied = ("permission denied" in err or "operation not permitted" in err
              or "you must be root" in err)
    return CommandResult("permission denied" if denied else "error", proc.returncode,
                         proc.stdout, proc.stderr.strip())


def process_table(attrs: list[str]) -> tuple[list[dict[str, Any]], int]:
    """Every process with `attrs` (psutil names): (rows, count of processes we may not read).

    A process that vanished while being read is left out; one whose details are denied is kept
    with None in the denied fields and counted as restricted.
    """
    rows: list[dict[str, Any]] = []
    restricted = 0
    denied = object()
    for proc in psutil.process_iter(attrs, ad_value=denied):
        try:
            info = dict(proc.info)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if any(value is denied for value in info.values()):
            restricted += 1
            info = {k: (None if v is denied else v) for k, v in info.items()}
        rows.append(info)
    return rows, restricted


def is_wildcard(address: str) -> bool:
    """True for an address that listens on every interface (0.0.0.0, ::)."""
    return address in ("", "0.0.0.0", "::", "*")


def is_loopback(address: str) -> bool:
    """True for a loopback address (127.0.0.0/8, ::1, ::ffff:127.x)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def listening_sockets() -> dict[str, Any]:
    """Listening TCP sockets and bound, unconnected UDP sockets, plus connection counts.

    Returns:
        {"available": bool, "error": str | None, "listening": [{proto, address, port, pid,
        process}], "states": {TCP state: count}, "total": int}.
    """
    try:
        conns = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        return {"available": False, "error": "unavailable: permission denied", "listening": [],
                "states": {}, "total": 0}
    except OSError as exc:
        return {"available": False, "error": f"unavailable: {exc}", "listening": [],
                "states": {}, "total": 0}
    names: dict[int, str | None] = {}

    def name_of(pid: int | None) -> str | None:
        if pid is None:
            return None
        if pid not in names:
            try:
                names[pid] = psutil.Process(pid).name()
            except (psutil.Error, OSError):
                names[pid] = None
        return names[pid]

    listening: list[dict[str, Any]] = []
    states: dict[str, int] = {}
    seen: set[tuple[str, str, int, int | None]] = set()
    for conn in conns:
        proto = "tcp" if conn.type == socket.SOCK_STREAM else "udp"
        if proto == "tcp":
            states[conn.status] = states.get(conn.status, 0) + 1
        is_listener = conn.status == psutil.CONN_LISTEN or (proto == "udp" and not conn.raddr)
        if not is_listener or not conn.laddr:
            continue
        key = (proto, conn.laddr.ip, conn.laddr.port, conn.pid)
        if key in seen:  # SO_REUSEPORT workers show the same socket many times
            continue
        seen.add(key)
        listening.append({"proto": proto, "address": conn.laddr.ip, "port": conn.laddr.port,
                          "pid": conn.pid, "process": name_of(conn.pid)})
    listening.sort(key=lambda s: (s["port"], s["proto"], s["address"]))
    return {"available": True, "error": None, "listening": listening, "states": states,
            "total": len(conns)}
