"""Application meta-agent: container engines and their containers, top services by name."""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from aios.agents._host import arg_int, process_table
from aios.errors import ConfigError
from aios.runtime.context import ActionContext
from aios.runtime.handlers import handler

__all__ = ["ENGINE_SOCKETS", "containers", "services"]

#: Where each engine listens by default; docker and podman speak the Docker HTTP API there.
ENGINE_SOCKETS: Mapping[str, str] = MappingProxyType({
    "docker": "/var/run/docker.sock",
    "podman": "/run/podman/podman.sock",
    "containerd": "/run/containerd/containerd.sock",
})

#: containerd speaks gRPC, not HTTP: we only report that its socket exists.
_HTTP_ENGINES = frozenset({"docker", "podman"})

_TIMEOUT = 2.0


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket: the Docker Engine API's transport."""

    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _list_containers(path: str) -> dict[str, Any]:
    """GET /containers/json?all=1 on the engine at `path`."""
    conn = _UnixHTTPConnection(path, _TIMEOUT)
    try:
        conn.request("GET", "/containers/json?all=1", headers={"Accept": "application/json"})
        resp = conn.getresponse()
        body = resp.read()
    except PermissionError:
        return {"error": "permission denied"}
    except (OSError, http.client.HTTPException) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        conn.close()
    if resp.status != 200:
        return {"error": f"HTTP {resp.status}: {body[:200].decode(errors='replace')}"}
    try:
        items = json.loads(body)
    except ValueError as exc:
        return {"error": f"bad JSON from engine: {exc}"}
    if not isinstance(items, list):
        return {"error": "unexpected response: not a list of containers"}
    rows = [{"id": str(c.get("Id", ""))[:12],
             "names": [str(n).lstrip("/") for n in c.get("Names") or []],
             "image": c.get("Image"), "state": c.get("State"), "status": c.get("Status")}
            for c in items if isinstance(c, dict)]
    running = sum(1 for r in rows if r["state"] == "running")
    return {"containers": rows, "count": len(rows), "running": running}


@handler("application.containers")
def containers(ctx: ActionContext) -> dict[str, Any]:
    """Container engine sockets present on this host, and the containers of docker/podman.

    Args:
        ctx: `args.sockets` ({engine: path}) overrides the default socket paths.

    Returns:
        {"engines": {engine: {"socket", "present", "count"?, "running"?, "containers"?,
        "error"?}}, "container_count": int}.
    """
    paths = ctx.args.get("sockets") or ENGINE_SOCKETS
    if not isinstance(paths, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in paths.items()):
        raise ConfigError(f"argument 'sockets' must map engine names to socket paths, "
                          f"got {paths!r}")
    engines: dict[str, dict[str, Any]] = {}
    total = 0
    for engine, path in paths.items():
        try:
            present = stat.S_ISSOCK(os.stat(path).st_mode)
        except OSError:
            present = False
        entry: dict[str, Any] = {"socket": path, "present": present}
        if present and engine in _HTTP_ENGINES:
            entry.update(_list_containers(path))
            total += entry.get("count", 0)
        engines[engine] = entry
    ctx.publish_metadata("engines", {name: {k: v for k, v in e.items() if k != "containers"}
                                     for name, e in engines.items()})
    ctx.publish_metadata("container_count", total)
    return {"engines": engines, "container_count": total}


@handler("application.services")
def services(ctx: ActionContext) -> dict[str, Any]:
    """Processes grouped by name: the N biggest services by resident memory.

    Args:
        ctx: `args.top` (int, default 10).

    Returns:
        {"services": [{name, processes, rss_bytes, cpu_seconds, users}], "distinct": int}.
    """
    top = arg_int(ctx.args, "top", 10, minimum=1, maximum=200)
    rows, _ = process_table(["name", "memory_info", "cpu_times", "username"])
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row["name"] or "?"
        group = groups.setdefault(name, {"name": name, "processes": 0, "rss_bytes": 0,
                                         "cpu_seconds": 0.0, "users": set()})
        group["processes"] += 1
        if row["memory_info"]:
            group["rss_bytes"] += row["memory_info"].rss
        if row["cpu_times"]:
            group["cpu_seconds"] += row["cpu_times"].user + row["cpu_times"].system
        if row["username"]:
            group["users"].add(row["username"])
    ranked = sorted(groups.values(), key=lambda g: g["rss_bytes"], reverse=True)[:top]
    top_services = [g | {"cpu_seconds": round(g["cpu_seconds"], 2), "users": sorted(g["users"])}
                    for g in ranked]
    ctx.publish_metadata("services", top_services)
    return {"services": top_services, "distinct": len(groups)}
