"""kernel agent: real process, resource and sysctl probes; terminate_process on a child."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from aios.agents import kernel
from aios.errors import ActionError, ConfigError
from aios.manifest.schema import Action
from aios.runtime.context import ActionContext


def make_ctx(action, args=None, env=None, llm=None):
    published = {}
    ctx = ActionContext(run_id="t", action=action, step_id=action, spec=Action(handler=action),
                        args=args or {}, env=env or {}, llm=llm,
                        _publish=lambda a, k, v: published.setdefault(a, {}).__setitem__(k, v),
                        _run_metadata=published)
    return ctx, published


def test_processes_lists_this_test_process_and_counts_all():
    ctx, published = make_ctx("kernel.processes", {"top": 3})
    result = kernel.processes(ctx)
    assert os.getpid() in result["pids"]
    assert result["count"] == len(result["pids"]) > 0
    assert sum(result["status_counts"].values()) == result["count"]
    assert len(result["top_memory"]) == 3 and len(result["top_cpu"]) == 3
    rss = [p["rss_bytes"] or 0 for p in result["top_memory"]]
    assert rss == sorted(rss, reverse=True)
    meta = published["kernel.processes"]
    assert meta["process_count"] == result["count"]
    json.dumps(result)
    json.dumps(meta)


def test_processes_reports_an_unreaped_child_as_zombie():
    child = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 5
        while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "child did not become a zombie"
            time.sleep(0.01)
        ctx, published = make_ctx("kernel.processes")
        result = kernel.processes(ctx)
        assert child.pid in [z["pid"] for z in result["zombies"]]
        assert published["kernel.processes"]["zombies"]["count"] >= 1
    finally:
        child.wait()


def test_processes_rejects_a_non_integer_top():
    ctx, _ = make_ctx("kernel.processes", {"top": "many"})
    with pytest.raises(ConfigError, match="top"):
        kernel.processes(ctx)


def test_resources_match_psutil_and_sample_briefly():
    ctx, published = make_ctx("kernel.resources")
    started = time.monotonic()
    result = kernel.resources(ctx)
    assert time.monotonic() - started < 0.5
    assert result["memory"]["total"] == psutil.virtual_memory().total
    assert result["swap"]["total"] == psutil.swap_memory().total
    assert result["cpu"]["logical"] == psutil.cpu_count()
    assert result["load_average"]["1m"] >= 0
    assert abs(result["uptime"]["seconds"] - (time.time() - psutil.boot_time())) < 5
    assert set(published["kernel.resources"]) == {"cpu", "load_average", "memory", "swap",
                                                  "uptime"}
    json.dumps(result)


def test_hardening_reads_the_real_sysctl_values():
    ctx, published = make_ctx("kernel.hardening")
    result = kernel.hardening(ctx)
    for rule in kernel.SYSCTLS:
        entry = result["sysctl"][rule.key]
        path = Path("/proc/sys") / rule.key.replace(".", "/")
        if path.exists():
            assert entry["value"] == int(path.read_text())
            assert entry["hardened"] == rule.hardened(entry["value"])
            assert (rule.key in result["weak"]) == (not entry["hardened"])
        else:
            assert entry["value"] is None and entry["error"].startswith("unavailable")
            assert rule.key in result["unavailable"]
    assert published["kernel.hardening"]["weak"] == result["weak"]
    json.dumps(result)


def test_sysctl_rule_compares_with_its_operator():
    assert kernel.Sysctl("a", "eq", 2).hardened(2)
    assert not kernel.Sysctl("a", "eq", 2).hardened(1)
    assert kernel.Sysctl("a", "min", 1).hardened(2)
    assert not kernel.Sysctl("a", "min", 1).hardened(0)
    assert kernel.Sysctl("a", "max", 0).hardened(0)
    assert kernel.Sysctl("a", "min", 1).expected == ">= 1"


@pytest.mark.parametrize("signal", ["TERM", "KILL"])
def test_terminate_process_ends_a_sleeping_child(signal):
    child = subprocess.Popen(["sleep", "60"])
    try:
        ctx, published = make_ctx("kernel.terminate_process",
                                  {"pid": child.pid, "signal": signal, "timeout": 5})
        result = kernel.terminate_process(ctx)
        assert result["exited"] is True
        assert result["signal"] == f"SIG{signal}"
        assert result["name"] == "sleep"
        assert child.wait(timeout=5) is not None
        assert published["kernel.terminate_process"]["terminated"]["pid"] == child.pid
        json.dumps(result)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.mark.parametrize("args, message", [
    ({"pid": 1}, "pid 1"),
    ({"pid": os.getpid()}, "this Ai:oS process"),
    ({}, "'pid' is required"),
    ({"pid": True}, "integer"),
    ({"pid": 0}, ">= 1"),
    ({"pid": 12345, "signal": "HUP"}, "signal"),
    ({"pid": 12345, "timeout": -1}, "timeout"),
])
def test_terminate_process_refuses_bad_or_dangerous_arguments(args, message):
    ctx, _ = make_ctx("kernel.terminate_process", args)
    with pytest.raises(ConfigError, match=message):
        kernel.terminate_process(ctx)


def test_terminate_process_reports_a_missing_pid_as_action_error():
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    ctx, _ = make_ctx("kernel.terminate_process", {"pid": pid_max + 1})
    with pytest.raises(ActionError, match="no process") as info:
        kernel.terminate_process(ctx)
    assert info.value.action == "kernel.terminate_process"
