"""The built-in meta-agents: read-only probes of this host and a few guarded mutations.

Each module holds the `@handler` functions of one agent; `aios.runtime.handlers` imports them
by name (``BUILTIN_MODULES``), so importing this package has no side effects.

- kernel: processes, CPU/memory/swap/uptime, hardening sysctls; terminate a process.
- storage: mounts with space and inodes, disk IO; clean old files from a directory.
- networking: interfaces and addresses, listening sockets, connections by state.
- security: firewall state, ports exposed on all interfaces; add a firewall rule.
- user: logged-in sessions, local accounts with login shells and uid 0.
- application: container engines and their containers, top services by memory.
- scalability: an ok / elevated / saturated load assessment.
- orchestration: the health report built from everything a run published.
"""

__all__ = [
    "application",
    "kernel",
    "networking",
    "orchestration",
    "scalability",
    "security",
    "storage",
    "user",
]
