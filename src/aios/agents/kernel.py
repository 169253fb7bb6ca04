"""Kernel meta-agent: processes, CPU/memory/uptime, hardening sysctls, terminating a process."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import psutil

from aios.agents._host import arg_choice, arg_int, arg_number, iso, process_table, read_proc
from aios.errors import ActionError, ConfigError
from aios.runtime.context import ActionContext
from aios.runtime.handlers import handler

__all__ = ["hardening", "processes", "resources", "terminate_process"]

#: Zombies listed by name at most; the count is always exact.
_MAX_ZOMBIES = 20


@dataclass(frozen=True)
class Sysctl:
    """A security-relevant kernel setting and the value a hardened host has.

    Attributes:
        key: dotted sysctl name.
        op: "eq" (value must equal `want`), "min" (at least), "max" (at most).
        want: the hardened value (or bound).
    """

    key: str
    op: str
    want: int

    @property
    def expected(self) -> str:
        """The hardened value as people write it: "2", ">= 1", "<= 0"."""
        return {"eq": f"{self.want}", "min": f">= {self.want}", "max": f"<= {self.want}"}[self.op]

    def hardened(self, value: int) -> bool:
        """True when `value` meets the hardened requirement."""
        if self.op == "min":
            return value >= self.want
        if self.op == "max":
            return value <= self.want
        return value == self.want


#: Hardened values follow the KSPP recommended settings, trimmed to those nobody disputes.
SYSCTLS = (
    Sysctl("kernel.randomize_va_space", "eq", 2),
    Sysctl("kernel.kptr_restrict", "min", 1),
    Sysctl("kernel.dmesg_restrict", "eq", 1),
    Sysctl("kernel.unprivileged_bpf_disabled", "min", 1),
    Sysctl("kernel.perf_event_paranoid", "min", 2),
    Sysctl("kernel.yama.ptrace_scope", "min", 1),
    Sysctl("kernel.kexec_load_disabled", "eq", 1),
    Sysctl("fs.protected_symlinks", "eq", 1),
    Sysctl("fs.protected_hardlinks", "eq", 1),
    Sysctl("fs.protected_fifos", "min", 1),
    Sysctl("fs.protected_regular", "min", 1),
    Sysctl("fs.suid_dumpable", "eq", 0),
    Sysctl("net.ipv4.ip_forward", "eq", 0),
    Sysctl("net.ipv4.tcp_syncookies", "eq", 1),
    Sysctl("net.ipv4.conf.all.accept_redirects", "eq", 0),
    Sysctl("net.ipv4.conf.all.accept_source_route", "eq", 0),
)


@handler("kernel.processes")
def processes(ctx: ActionContext) -> dict[str, Any]:
    """List every process: count, status counts, zombies, and the top N by memory and CPU.

    CPU is cumulative user+system seconds and its lifetime average percentage, because an
    instantaneous percentage needs a blocking sampling interval per process.

    Args:
        ctx: `args.top` (int, default 5) is how many processes each top list holds.

    Returns:
        {"count", "pids", "status_counts", "zombies", "top_memory", "top_cpu", "restricted"}.
    """
    top = arg_int(ctx.args, "top", 5, minimum=1, maximum=100)
    rows, restricted = process_table(
        ["pid", "ppid", "name", "status", "memory_info", "memory_percent", "cpu_times",
         "create_time", "username"])
    now = time.time()
    status_counts: dict[str, int] = {}
    zombies: list[dict[str, Any]] = []
    table: list[dict[str, Any]] = []
    for row in rows:
        status = row["status"] or "unknown"
        status_counts[status] = status_counts.get(status, 0) + 1
        if status == psutil.STATUS_ZOMBIE:
            zombies.append({"pid": row["pid"], "ppid": row["ppid"], "name": row["name"]})
        times = row["cpu_times"]
        cpu_seconds = round(times.user + times.system, 2) if times else None
        age = now - row["create_time"] if row["create_time"] else None
        table.append({
            "pid": row["pid"], "name": row["name"], "user": row["username"],
            "rss_bytes": row["memory_info"].rss if row["memory_info"] else None,
            "memory_percent": round(row["memory_percent"] or 0.0, 2),
            "cpu_seconds": cpu_seconds,
            "cpu_percent_avg": (round(100 * cpu_seconds / age, 2)
                                if cpu_seconds is not None and age and age > 0 else None),
        })
    top_memory = sorted(table, key=lambda r: r["rss_bytes"] or 0, reverse=True)[:top]
    top_cpu = sorted(table, key=lambda r: r["cpu_seconds"] or 0, reverse=True)[:top]
    ctx.publish_metadata("process_count", len(rows))
    ctx.publish_metadata("status_counts", status_counts)
    ctx.publish_metadata("zombies", {"count": len(zombies), "sample": zombies[:_MAX_ZOMBIES]})
    ctx.publish_metadata("top_memory", top_memory)
    ctx.publish_metadata("top_cpu", top_cpu)
    ctx.publish_metadata("restricted", restricted)
    return {"count": len(rows), "pids": sorted(r["pid"] for r in rows),
            "status_counts": status_counts, "zombies": zombies, "top_memory": top_memory,
            "top_cpu": top_cpu, "restricted": restricted}


@handler("kernel.resources")
def resources(ctx: ActionContext) -> dict[str, Any]:
    """CPU count and utilisation, load average, memory, swap and uptime.

    Utilisation is sampled over 0.1 s: long enough to mean something, short enough for boot.

    Returns:
        {"cpu", "load_average", "memory", "swap", "uptime"}.
    """
    logical = psutil.cpu_count() or 1
    cpu = {"logical": logical, "physical": psutil.cpu_count(logical=False),
           "percent": psutil.cpu_percent(interval=0.1)}
    try:
        one, five, fifteen = psutil.getloadavg()
        load: dict[str, Any] = {"1m": round(one, 2), "5m": round(five, 2),
                                "15m": round(fifteen, 2), "per_cpu_1m": round(one / logical, 2)}
    except OSError as exc:
        load = {"error": f"unavailable: {exc}"}
    vm = psutil.virtual_memory()
    memory = {"total": vm.total, "available": vm.available, "used": vm.total - vm.available,
              "percent": round(100 * (vm.total - vm.available) / vm.total, 1) if vm.total else 0}
    sw = psutil.swap_memory()
    swap = {"total": sw.total, "used": sw.used, "percent": round(sw.percent, 1)}
    boot = psutil.boot_time()
    uptime = {"boot_time": iso(boot), "seconds": int(time.time() - boot)}
    for key, value in (("cpu", cpu), ("load_average", load), ("memory", memory),
                       ("swap", swap), ("uptime", uptime)):
        ctx.publish_metadata(key, value)
    return {"cpu": cpu, "load_average": load, "memory": memory, "swap": swap, "uptime": uptime}


@handler("kernel.hardening")
def hardening(ctx: ActionContext) -> dict[str, Any]:
    """Read security-relevant sysctls from /proc/sys and compare them with hardened values.

    Returns:
        {"sysctl": {key: {"value", "expected", "hardened", "error"?}}, "weak": [keys],
        "unavailable": [keys]}; `hardened` is None when the setting could not be read.
    """
    settings: dict[str, dict[str, Any]] = {}
    weak: list[str] = []
    unavailable: list[str] = []
    for rule in SYSCTLS:
        text, error = read_proc("/proc/sys/" + rule.key.replace(".", "/"))
        entry: dict[str, Any] = {"value": None, "expected": rule.expected, "hardened": None}
        try:
            value = int(text) if text is not None else None
        except ValueError:
            value, error = None, f"unavailable: unexpected value {text!r}"
        if value is None:
            entry["error"] = error
            unavailable.append(rule.key)
        else:
            entry["value"] = value
            entry["hardened"] = rule.hardened(value)
            if not entry["hardened"]:
                weak.append(rule.key)
        settings[rule.key] = entry
    ctx.publish_metadata("sysctl", settings)
    ctx.publish_metadata("weak", weak)
    ctx.publish_metadata("unavailable", unavailable)
    return {"sysctl": settings, "weak": weak, "unavailable": unavailable}


@handler("kernel.terminate_process")
def terminate_process(ctx: ActionContext) -> dict[str, Any]:
    """Send SIGTERM or SIGKILL to a process and wait for it to exit.

    Args:
        ctx: `args.pid` (int, required), `args.signal` ("TERM" default or "KILL"),
            `args.timeout` (seconds to wait for the exit, default 5).

    Returns:
        {"pid", "name", "cmdline", "signal", "exited", "returncode", "waited_seconds"}.

    Raises:
        ConfigError: bad arguments, pid 1, or this process's own pid.
        ActionError: no such process, or not allowed to signal it.
    """
    pid = arg_int(ctx.args, "pid", minimum=1)
    sig_name = arg_choice(ctx.args, "signal", ("term", "kill", "sigterm", "sigkill"), "TERM")
    sig_name = sig_name.upper().removeprefix("SIG")
    timeout = arg_number(ctx.args, "timeout", 5.0, maximum=300)
    if pid == 1:
        raise ConfigError("refusing to terminate pid 1 (init): it would bring the host down")
    if pid == os.getpid():
        raise ConfigError(f"refusing to terminate pid {pid}: it is this Ai:oS process")
    try:
        proc = psutil.Process(pid)
        name, cmdline = proc.name(), proc.cmdline()
        if sig_name == "KILL":
            proc.kill()
        else:
            proc.terminate()
    except psutil.NoSuchProcess as exc:
        raise ActionError(f"no process with pid {pid}", action=ctx.action) from exc
    except psutil.AccessDenied as exc:
        raise ActionError(f"not allowed to signal pid {pid} (permission denied)",
                          action=ctx.action) from exc
    started = time.monotonic()
    exited, returncode = True, None
    try:
        returncode = proc.wait(timeout=timeout)
    except psutil.TimeoutExpired:
        exited = False
    result = {"pid": pid, "name": name, "cmdline": cmdline, "signal": f"SIG{sig_name}",
              "exited": exited, "returncode": returncode,
              "waited_seconds": round(time.monotonic() - started, 3)}
    ctx.publish_metadata("terminated", result)
    return result
