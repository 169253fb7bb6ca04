"""Networking meta-agent: interfaces and their addresses, listening sockets, connections."""

from __future__ import annotations

import socket
from typing import Any

import psutil

from aios.agents._host import listening_sockets
from aios.runtime.context import ActionContext
from aios.runtime.handlers import handler

__all__ = ["interfaces", "sockets"]

_FAMILIES = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6", psutil.AF_LINK: "mac"}


@handler("networking.interfaces")
def interfaces(ctx: ActionContext) -> dict[str, Any]:
    """Network interfaces: up/down, MTU, speed, addresses and traffic counters.

    Returns:
        {"interfaces": {name: {"up", "mtu", "speed_mbps", "ipv4": [...], "ipv6": [...],
        "mac", "bytes_sent", "bytes_recv", "errors", "drops"}}, "up": [names]}.
    """
    addrs = psutil.net_if_addrs()
    stats = psutil.net_if_stats()
    try:
        counters = psutil.net_io_counters(pernic=True)
    except OSError:
        counters = {}
    result: dict[str, dict[str, Any]] = {}
    for name in sorted(set(addrs) | set(stats)):
        st = stats.get(name)
        entry: dict[str, Any] = {
            "up": st.isup if st else None, "mtu": st.mtu if st else None,
            "speed_mbps": st.speed if st and st.speed else None,
            "ipv4": [], "ipv6": [], "mac": None,
        }
        for addr in addrs.get(name, []):
            family = _FAMILIES.get(addr.family)
            if family == "mac":
                entry["mac"] = addr.address
            elif family is not None:
                entry[family].append({"address": addr.address, "netmask": addr.netmask})
        io = counters.get(name)
        if io is not None:
            entry.update(bytes_sent=io.bytes_sent, bytes_recv=io.bytes_recv,
                         errors=io.errin + io.errout, drops=io.dropin + io.dropout)
        result[name] = entry
    up = [name for name, entry in result.items() if entry["up"]]
    ctx.publish_metadata("interfaces", {
        name: {"up": e["up"], "ipv4": [a["address"] for a in e["ipv4"]],
               "ipv6": [a["address"] for a in e["ipv6"]]} for name, e in result.items()})
    ctx.publish_metadata("up", up)
    return {"interfaces": result, "up": up}


@handler("networking.sockets")
def sockets(ctx: ActionContext) -> dict[str, Any]:
    """Listening sockets (TCP listeners, bound UDP sockets) and TCP connections by state.

    The owning pid/process is filled in when this user may see it; otherwise it is None.

    Returns:
        {"available", "error", "listening": [{proto, address, port, pid, process}],
        "connection_states": {state: count}, "total": int}.
    """
    table = listening_sockets()
    result = {"available": table["available"], "error": table["error"],
              "listening": table["listening"], "connection_states": table["states"],
              "total": table["total"]}
    ctx.publish_metadata("listening", table["listening"])
    ctx.publish_metadata("connection_states", table["states"])
    if not table["available"]:
        ctx.publish_metadata("error", table["error"])
    return result
