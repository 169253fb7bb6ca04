"""Orchestration meta-agent: the health report built from everything a run has published.

Probes are recognised by the metadata keys they publish (`sysctl`, `mounts`, `exposed` ...),
not by action name, so a manifest that renames an action still gets its findings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from aios.agents._host import iso
from aios.errors import AiosError
from aios.modeltext import fact_text, repetition, ungrounded
from aios.runtime.context import ActionContext
from aios.runtime.handlers import handler

__all__ = ["SEVERITIES", "build_report", "check_narrative", "summarize"]

SEVERITIES = ("info", "warning", "critical")

#: Findings handed to the model at most, worst first, to keep the prompt small.
_PROMPT_FINDINGS = 12

#: Seconds the narrative may take before the report goes out without it (a small CPU model
#: on a busy host can be slow; the report itself never waits on the model).
_NARRATIVE_SECONDS = 45.0

Finding = dict[str, Any]


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _level(value: float, warn: float, crit: float) -> str | None:
    return "critical" if value >= crit else "warning" if value >= warn else None


def _percent_rule(code: str, label: str, warn: float, crit: float
                  ) -> Callable[[Any, Mapping[str, Any]], list[Finding]]:
    def rule(value: Any, _meta: Mapping[str, Any]) -> list[Finding]:
        pct = _num(value.get("percent")) if isinstance(value, Mapping) else None
        if pct is None or (sev := _level(pct, warn, crit)) is None:
            return []
        return [{"severity": sev, "code": code, "message": f"{label} in use {pct:g}%",
                 "value": pct}]
    return rule


def _zombies(value: Any, _meta: Mapping[str, Any]) -> list[Finding]:
    count = _num(value.get("count")) if isinstance(value, Mapping) else None
    if not count:
        return []
    return [{"severity": "warning" if count >= 10 else "info", "code": "zombies",
             "message": f"{int(count)} zombie process(es)", "value": int(count)}]


def _sysctl(value: Any, _meta: Mapping[str, Any]) -> list[Finding]:
    found = []
    for key, entry in (value.items() if isinstance(value, Mapping) else []):
        if isinstance(entry, Mapping) and entry.get("hardened") is False:
            found.append({"severity": "warning", "code": "sysctl", "key": key,
                          "message": f"{key} is {entry.get('value')} "
                                     f"(should be {entry.get('expected')})",
                          "value": entry.get("value")})
    return found


def _mounts(value: Any, _meta: Mapping[str, Any]) -> list[Finding]:
    found = []
    for mount in value if isinstance(value, list) else []:
        if not isinstance(mount, Mapping):
            continue
        where = mount.get("mountpoint", "?")
        for field, what in (("percent", "disk"), ("inodes_percent", "inodes")):
            pct = _num(mount.get(field))
            if pct is not None and (sev := _level(pct, 90, 95)):
                found.append({"severity": sev, "code": f"{what}_usage", "mountpoint": where,
                              "message": f"{what} on {where} {pct:g}% full", "value": pct})
    return found


def _exposed(value: Any, meta: Mapping[str, Any]) -> list[Finding]:
    fw = meta.get("firewall")
    guarded = isinstance(fw, Mapping) and fw.get("status") == "active"
    found, seen = [], set()
    for sock in value if isinstance(value, list) else []:
        if not isinstance(sock, Mapping) or (sock.get("proto"), sock.get("port")) in seen:
            continue  # 0.0.0.0 and :: are the same exposure
        seen.add((sock.get("proto"), sock.get("port")))
        who = f" ({sock['process']})" if sock.get("process") else ""
        found.append({"severity": "info" if guarded else "warning", "code": "exposed_port",
                      "message": f"port {sock.get('port')}/{sock.get('proto')} listening on "
                                 f"all interfaces{who}", "value": sock.get("port")})
    return found


def _firewall(value: Any, _meta: Mapping[str, Any]) -> list[Finding]:
    status = value.get("status") if isinstance(value, Mapping) else None
    if status in (None, "active"):
        return []
    if status == "empty":
        msg, sev = f"firewall ({value.get('tool')}) has no filtering rules", "warning"
    elif status == "not installed":
        msg, sev = "no firewall tool (nft or iptables) installed", "warning"
    else:
        msg, sev = f"firewall state unknown: {value.get('tool')} {status}", "info"
    return [{"severity": sev, "code": "firewall", "message": msg, "value": status}]


def _assessment(value: Any, _meta: Mapping[str, Any]) -> list[Finding]:
    level = value.get("level") if isinstance(value, Mapping) else None
    if level not in ("elevated", "saturated"):
        return []
    why = "; ".join(f"{r.get('metric')} {r.get('value')} >= {r.get('threshold')}"
                    for r in value.get("reasons", []) if isinstance(r, Mapping))
    return [{"severity": "critical" if level == "saturated" else "warning", "code": "load",
             "message": f"host load {level}" + (f": {why}" if why else ""), "value": level}]


def _uid0(value: Any, _meta: Mapping[str, Any]) -> list[Finding]:
    others = [n for n in value if n != "root"] if isinstance(value, list) else []
    return [{"severity": "critical", "code": "uid0_account",
             "message": f"account {name!r} has uid 0", "value": name} for name in others]


def _engines(value: Any, _meta: Mapping[str, Any]) -> list[Finding]:
    return [{"severity": "info", "code": "container_engine",
             "message": f"{name} socket present but not readable: {e['error']}",
             "value": name}
            for name, e in (value.items() if isinstance(value, Mapping) else [])
            if isinstance(e, Mapping) and e.get("error")]


def _error(value: Any, _meta: Mapping[str, Any]) -> list[Finding]:
    return [{"severity": "info", "code": "probe_unavailable", "message": str(value),
             "value": None}] if value else []


#: Metadata key -> rule producing findings from its value (and the action's other keys).
RULES: Mapping[str, Callable[[Any, Mapping[str, Any]], list[Finding]]] = {
    "memory": _percent_rule("memory_usage", "memory", 90, 95),
    "swap": _percent_rule("swap_usage", "swap", 50, 80),
    "zombies": _zombies, "sysctl": _sysctl, "mounts": _mounts, "exposed": _exposed,
    "firewall": _firewall, "assessment": _assessment, "uid0_accounts": _uid0,
    "engines": _engines, "error": _error,
}


def _highlight(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The few numbers worth seeing at a glance from one action's metadata."""
    out: dict[str, Any] = {}

    def pick(key: str, *path: str) -> Any:
        value: Any = meta.get(key)
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        return value

    candidates = {
        "processes": pick("process_count"), "zombies": pick("zombies", "count"),
        "cpus": pick("cpu", "logical"), "cpu_percent": pick("cpu", "percent"),
        "load_1m": pick("load_average", "1m"), "memory_percent": pick("memory", "percent"),
        "swap_percent": pick("swap", "percent"), "uptime_seconds": pick("uptime", "seconds"),
        "weak_sysctls": len(meta["weak"]) if isinstance(meta.get("weak"), list) else None,
        "interfaces_up": pick("up"), "firewall": pick("firewall", "status"),
        "exposure": pick("exposure_counts"), "sessions": pick("session_count"),
        "accounts": pick("account_count"), "containers": pick("container_count"),
        "load_level": pick("assessment", "level"), "cleaned": pick("cleaned"),
    }
    if isinstance(meta.get("mounts"), list):
        mounts = [m for m in meta["mounts"] if isinstance(m, Mapping)]
        fullest = max(mounts, key=lambda m: _num(m.get("percent")) or 0, default=None)
        candidates["mounts"] = len(mounts)
        if fullest:
            candidates["fullest_mount"] = {"mountpoint": fullest.get("mountpoint"),
                                           "percent": fullest.get("percent")}
    if isinstance(meta.get("listening"), list):
        candidates["listening_sockets"] = len(meta["listening"])
    if isinstance(meta.get("services"), list):
        candidates["top_services"] = [s.get("name") for s in meta["services"][:3]
                                      if isinstance(s, Mapping)]
    out.update({k: v for k, v in candidates.items() if v is not None})
    return out or {"keys": sorted(meta)}


def build_report(run_metadata: Mapping[str, Mapping[str, Any]],
                 exclude: str | None = None) -> dict[str, Any]:
    """The health report (without narrative) for `run_metadata` ({action: {key: value}}).

    Returns:
        {"status": "ok" | "warning" | "critical", "generated_at", "actions": [names],
        "highlights": {agent: {action: {...}}}, "findings": [{severity, code, message, value,
        agent, source}] worst first, "finding_counts": {severity: n}}.
    """
    highlights: dict[str, dict[str, Any]] = {}
    findings: list[Finding] = []
    actions = sorted(a for a in run_metadata if a != exclude)
    for action in actions:
        meta = run_metadata[action]
        if not isinstance(meta, Mapping):
            continue
        agent = action.partition(".")[0]
        highlights.setdefault(agent, {})[action] = _highlight(meta)
        for key, rule in RULES.items():
            if key in meta:
                findings.extend(f | {"agent": agent, "source": action}
                                for f in rule(meta[key], meta))
    findings.sort(key=lambda f: -SEVERITIES.index(f["severity"]))
    counts = {sev: sum(1 for f in findings if f["severity"] == sev) for sev in SEVERITIES}
    status = ("critical" if counts["critical"] else "warning" if counts["warning"] else "ok")
    return {"status": status, "generated_at": iso(time.time()), "actions": actions,
            "highlights": highlights, "findings": findings, "finding_counts": counts}


#: The narrative's instructions. The whole request is the system's own text (its instructions
#: and the findings its rules wrote), so it goes as the system message, which the injection
#: guardrail trusts; what the host contributed (names, numbers) can only reach the operator
#: through the grounding check of the output.
_INSTRUCTIONS = (
    "You are the health reporter of Ai:oS, an agent control plane. In at most three "
    "sentences, tell the operator how this host is doing and what to look at first. "
    "Use only the facts below; do not invent numbers or names.")

#: The user turn of the narrative request.
_ASK = "Write the health report."

#: Words a narrative may use without finding them in the facts.
_FREE_NAMES = ("Ai:oS",)


def _facts(report: Mapping[str, Any]) -> str:
    lines = [f"- [{f['severity']}] {f['message']}"
             for f in report["findings"][:_PROMPT_FINDINGS]] or ["- none"]
    return f"Overall status: {report['status']}\nFindings:\n" + "\n".join(lines)


def _prompt(report: Mapping[str, Any]) -> str:
    """The whole narrative request as one text (instructions, then facts)."""
    return f"{_INSTRUCTIONS}\n{_facts(report)}"


def check_narrative(text: str, report: Mapping[str, Any],
                    metadata: Mapping[str, Any]) -> str | None:
    """Why the narrative `text` must not be shown, or None when it passes.

    It must say something, must not loop, and every number and name it states must be in
    the run's published metadata or the report built from it.
    """
    if not text.strip():
        return "the model returned no text"
    looped = repetition(text)
    if looped:
        return f"the model's text loops ({looped})"
    # The report's own time stamp is no fact about the host: a number that only matches the
    # clock ("42" at 16:42) must not count as grounded.
    facts = {key: value for key, value in report.items() if key != "generated_at"}
    missing = ungrounded(text, fact_text(metadata, facts), allowed=_FREE_NAMES)
    if missing:
        shown = ", ".join(repr(m) for m in missing[:4])
        return f"the model's text states {shown}, which the published facts do not contain"
    return None


async def _narrative(ctx: ActionContext,
                     report: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """`(narrative, None)` or `(None, why it is omitted)`."""
    limit = float(ctx.args.get("narrative_seconds", _NARRATIVE_SECONDS))
    try:
        async with asyncio.timeout(limit):
            reply = await ctx.llm.complete(_ASK, system=_prompt(report),
                                           max_tokens=int(ctx.args.get("narrative_tokens", 96)))
    except AiosError as exc:
        ctx.logger.warning("narrative unavailable: %s", exc)
        return None, f"{type(exc).__name__}: {exc}"
    except TimeoutError:
        ctx.logger.warning("narrative unavailable: model slower than %g s", limit)
        return None, f"the model took longer than {limit:g} s"
    text = str(reply.text).strip()
    rejected = check_narrative(text, report, ctx.run_metadata())
    if rejected:
        ctx.logger.info("narrative omitted: %s", rejected)
        return None, rejected
    return text, None


@handler("orchestration.summarize")
async def summarize(ctx: ActionContext) -> dict[str, Any]:
    """Build the boot health report from this run's metadata, with a narrative if a model is set.

    The narrative is optional: it is shown only when it passes `check_narrative` (grounded in
    the published facts, no loops), and a failed or slow model never fails the step.

    Returns:
        The `build_report` dict plus "narrative" (the model's checked text, or None without a
        model or when it failed, timed out or was rejected) and "narrative_error" (None, or
        why the narrative is omitted, in one line).
    """
    report = build_report(ctx.run_metadata(), exclude=ctx.action)
    report["narrative"] = None
    report["narrative_error"] = None
    if ctx.llm is not None:
        report["narrative"], report["narrative_error"] = await _narrative(ctx, report)
    ctx.publish_metadata("report", report)
    return report
