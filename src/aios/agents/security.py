"""Security meta-agent: firewall state, network exposure, and adding a firewall rule."""

from __future__ import annotations

import ipaddress
import re
import shutil
from typing import Any

from aios.agents._host import (
    arg_choice,
    arg_int,
    is_loopback,
    is_wildcard,
    listening_sockets,
    run_command,
)
from aios.errors import ActionError, ConfigError
from aios.runtime.context import ActionContext
from aios.runtime.handlers import handler

__all__ = ["add_firewall_rule", "exposure", "firewall", "firewall_command"]

#: Seconds a firewall command may take; both tools answer in milliseconds when healthy.
_TIMEOUT = 5.0

_IPT_POLICY = re.compile(r"^-P (\S+) (\S+)$")
_NFT_POLICY = re.compile(r"^\s*type filter hook (\w+) .*policy (\w+);")


def _nft_state(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    rules = [ln for ln in lines if ln.strip() and not ln.strip().startswith(
        ("table ", "chain ", "type ", "policy ", "flags ", "}", "set ", "map ",
         "elements ", "#"))]
    policies = {m.group(1): m.group(2) for ln in lines if (m := _NFT_POLICY.match(ln))}
    tables = sum(1 for ln in lines if ln.startswith("table "))
    return {"tables": tables, "rules": len(rules), "policies": policies}


def _iptables_state(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    policies = {m.group(1): m.group(2) for ln in lines if (m := _IPT_POLICY.match(ln))}
    rules = sum(1 for ln in lines if ln.startswith("-A "))
    return {"tables": 1, "rules": rules, "policies": policies}


@handler("security.firewall")
def firewall(ctx: ActionContext) -> dict[str, Any]:
    """Firewall state from `nft list ruleset`, else `iptables -S`.

    Returns:
        {"tool": "nft" | "iptables" | None, "status": "active" | "empty" | "not installed" |
        "permission denied" | "timeout" | "error", "rules": int, "policies": {chain: policy},
        "detail": str | None}. "empty" means the tool works but no rule filters anything.
    """
    state: dict[str, Any] = {"tool": None, "status": "not installed", "rules": 0,
                             "policies": {}, "detail": "neither nft nor iptables is installed"}
    for tool, argv, parse in (("nft", ["list", "ruleset"], _nft_state),
                              ("iptables", ["-S"], _iptables_state)):
        path = shutil.which(tool)
        if path is None:
            continue
        res = run_command([path, *argv], timeout=_TIMEOUT)
        state = {"tool": tool, "status": res.status, "rules": 0, "policies": {},
                 "detail": res.stderr or None}
        if res.status == "ok":
            parsed = parse(res.stdout)
            drops = any(p.lower() == "drop" for p in parsed["policies"].values())
            state.update(parsed, status="active" if parsed["rules"] or drops else "empty",
                         detail=None)
        break
    ctx.publish_metadata("firewall", state)
    return state


@handler("security.exposure")
def exposure(ctx: ActionContext) -> dict[str, Any]:
    """Which listening ports are reachable from other hosts.

    A socket bound to 0.0.0.0 or :: is "exposed" (all interfaces); one bound to a specific
    non-loopback address is "specific"; loopback ones are "local_only".

    Returns:
        {"available", "error", "exposed": [{proto, port, address, pid, process}],
        "specific": [...], "exposed_count", "specific_count", "local_only_count"}.
    """
    table = listening_sockets()
    exposed, specific, local = [], [], 0
    for sock in table["listening"]:
        if is_wildcard(sock["address"]):
            exposed.append(sock)
        elif is_loopback(sock["address"]):
            local += 1
        else:
            specific.append(sock)
    result = {"available": table["available"], "error": table["error"], "exposed": exposed,
              "specific": specific, "exposed_count": len(exposed),
              "specific_count": len(specific), "local_only_count": local}
    ctx.publish_metadata("exposed", exposed)
    ctx.publish_metadata("exposure_counts", {"exposed": len(exposed), "specific": len(specific),
                                             "local_only": local})
    if not table["available"]:
        ctx.publish_metadata("error", table["error"])
    return result


def firewall_command(tool: str, rule: dict[str, Any]) -> list[str]:
    """The argv that adds `rule` with `tool` ("nft", "iptables" or "ip6tables").

    nft adds to the `inet filter input` chain (the distribution default table); iptables
    inserts at the top of INPUT so the rule wins over an existing catch-all.
    """
    port, proto, verdict, source = rule["port"], rule["protocol"], rule["action"], rule["source"]
    if tool == "nft":
        argv = ["nft", "add", "rule", "inet", "filter", "input"]
        if source:
            family = "ip6" if ipaddress.ip_network(source).version == 6 else "ip"
            argv += [family, "saddr", source]
        return [*argv, proto, "dport", str(port), verdict]
    argv = [tool, "-I", "INPUT", "-p", proto, "--dport", str(port)]
    if source:
        argv += ["-s", source]
    return [*argv, "-j", verdict.upper()]


@handler("security.add_firewall_rule")
def add_firewall_rule(ctx: ActionContext) -> dict[str, Any]:
    """Allow or drop inbound traffic to a port, with nft when present, else iptables.

    Args:
        ctx: `args.port` (1-65535), `args.protocol` (tcp | udp, default tcp), `args.action`
            (accept | drop), `args.source` (optional CIDR or address, IPv4 or IPv6).

    Returns:
        {"tool", "command": [argv], "rule": {...}, "already_present": bool}.

    Raises:
        ConfigError: bad arguments.
        ActionError: no firewall tool installed, or the tool refused the rule.
    """
    port = arg_int(ctx.args, "port", minimum=1, maximum=65535)
    protocol = arg_choice(ctx.args, "protocol", ("tcp", "udp"), "tcp")
    verdict = arg_choice(ctx.args, "action", ("accept", "drop"))
    source = ctx.args.get("source")
    if source is not None:
        try:
            source = str(ipaddress.ip_network(str(source), strict=False))
        except ValueError as exc:
            raise ConfigError(f"argument 'source' must be an IP address or CIDR: {exc}") from exc
    rule = {"port": port, "protocol": protocol, "action": verdict, "source": source}
    v6 = source is not None and ipaddress.ip_network(source).version == 6
    candidates = ("nft", "ip6tables" if v6 else "iptables")
    tool = next((t for t in candidates if shutil.which(t)), None)
    if tool is None:
        raise ActionError(f"cannot add a firewall rule: neither {' nor '.join(candidates)} is "
                          "installed", action=ctx.action)
    path = shutil.which(tool) or tool
    argv = firewall_command(tool, rule)
    if tool != "nft":
        # iptables -C exits 0 when the same rule exists: adding it again would duplicate it.
        check = run_command([path, "-C", "INPUT", *argv[3:]], timeout=_TIMEOUT)
        if check.status == "ok":
            result = {"tool": tool, "command": argv, "rule": rule, "already_present": True}
            ctx.publish_metadata("firewall_rule", result)
            return result
    res = run_command([path, *argv[1:]], timeout=_TIMEOUT)
    if res.status != "ok":
        raise ActionError(f"{tool} refused the rule ({res.status}): {res.stderr or res.stdout}",
                          action=ctx.action)
    result = {"tool": tool, "command": argv, "rule": rule, "already_present": False}
    ctx.publish_metadata("firewall_rule", result)
    return result
