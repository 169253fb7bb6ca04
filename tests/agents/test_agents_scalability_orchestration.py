"""scalability.assess's rule, and orchestration.summarize's report, findings and narrative."""

from __future__ import annotations

import asyncio
import json

import psutil
import pytest

from aios.agents import orchestration, scalability
from aios.errors import TransientProviderError
from aios.manifest.schema import Action
from aios.runtime.context import ActionContext
from aios.runtime.handlers import HandlerRegistry
from aios.testing import ScriptedProvider, Turn


def make_ctx(action, args=None, env=None, llm=None, metadata=None):
    published = metadata if metadata is not None else {}
    ctx = ActionContext(run_id="t", action=action, step_id=action, spec=Action(handler=action),
                        args=args or {}, env=env or {}, llm=llm,
                        _publish=lambda a, k, v: published.setdefault(a, {}).__setitem__(k, v),
                        _run_metadata=published)
    return ctx, published



@pytest.mark.parametrize("metrics, level", [
    ({"load_per_cpu": 0.2, "memory_percent": 40, "swap_percent": 0}, "ok"),
    ({"load_per_cpu": 0.9, "memory_percent": 40}, "elevated"),
    ({"load_per_cpu": 0.2, "memory_percent": 88}, "elevated"),
    ({"load_per_cpu": 1.6, "memory_percent": 40}, "saturated"),
    ({"load_per_cpu": 0.2, "memory_percent": 96}, "saturated"),
    ({"load_per_cpu": 0.2, "swap_percent": 99}, "elevated"),
    ({"memory_psi_avg10": 45.0}, "saturated"),
    ({"load_per_cpu": None, "memory_percent": None}, "ok"),
])
def test_assess_rule_takes_the_worst_metric(metrics, level):
    got, reasons = scalability.assess(metrics)
    assert got == level
    assert (reasons == []) == (level == "ok")


def test_assess_explains_each_metric_over_its_threshold():
    level, reasons = scalability.assess({"load_per_cpu": 2.0, "memory_percent": 86})
    assert level == "saturated"
    assert {"metric": "load_per_cpu", "value": 2.0, "threshold": 1.5,
            "level": "saturated"} in reasons
    assert {"metric": "memory_percent", "value": 86, "threshold": 85.0,
            "level": "elevated"} in reasons


def test_assess_handler_uses_this_hosts_numbers():
    ctx, published = make_ctx("scalability.assess")
    result = scalability.assess_load(ctx)
    assert result["metrics"]["cpu_count"] == psutil.cpu_count()
    assert result["level"] == scalability.assess(result["metrics"])[0]
    assert published["scalability.assess"]["assessment"] == result
    json.dumps(result)


def sample_metadata():
    return {
        "kernel.resources": {"memory": {"percent": 50.0}, "swap": {"percent": 85.0},
                             "cpu": {"logical": 4}},
        "kernel.hardening": {"sysctl": {
            "kernel.randomize_va_space": {"value": 0, "expected": "2", "hardened": False},
            "kernel.dmesg_restrict": {"value": 1, "expected": "1", "hardened": True}},
            "weak": ["kernel.randomize_va_space"]},
        "storage.disks": {"mounts": [{"mountpoint": "/", "percent": 96.0, "inodes_percent": 10},
                                     {"mountpoint": "/data", "percent": 20.0}]},
        "security.exposure": {"exposed": [
            {"proto": "tcp", "address": "0.0.0.0", "port": 22, "process": "sshd"},
            {"proto": "tcp", "address": "::", "port": 22, "process": "sshd"}]},
        "security.firewall": {"firewall": {"tool": "nft", "status": "empty"}},
        "user.accounts": {"uid0_accounts": ["root", "toor"], "account_count": 3},
        "scalability.assess": {"assessment": {"level": "elevated", "reasons": [
            {"metric": "load_per_cpu", "value": 1.0, "threshold": 0.8}]}},
    }


def test_build_report_turns_metadata_into_findings_with_severity():
    report = orchestration.build_report(sample_metadata())
    by_message = {f["message"]: f for f in report["findings"]}
    assert by_message["swap in use 85%"]["severity"] == "critical"
    assert by_message["kernel.randomize_va_space is 0 (should be 2)"]["severity"] == "warning"
    assert by_message["port 22/tcp listening on all interfaces (sshd)"]["severity"] == "warning"
    assert by_message["disk on / 96% full"]["severity"] == "critical"
    assert by_message["account 'toor' has uid 0"]["severity"] == "critical"
    assert by_message["firewall (nft) has no filtering rules"]["severity"] == "warning"
    assert by_message["host load elevated: load_per_cpu 1.0 >= 0.8"]["source"] == \
        "scalability.assess"
    assert sum(1 for f in report["findings"] if f["code"] == "exposed_port") == 1
    assert not any("dmesg_restrict" in m or "/data" in m for m in by_message)
    severities = [orchestration.SEVERITIES.index(f["severity"]) for f in report["findings"]]
    assert severities == sorted(severities, reverse=True)
    assert report["status"] == "critical"
    assert report["highlights"]["kernel"]["kernel.resources"]["swap_percent"] == 85.0
    assert report["highlights"]["storage"]["storage.disks"]["fullest_mount"]["mountpoint"] == "/"
    json.dumps(report)


def test_build_report_downgrades_exposed_ports_behind_an_active_firewall():
    meta = {"security.probe": {"firewall": {"tool": "nft", "status": "active"},
                               "exposed": [{"proto": "tcp", "port": 22}]}}
    report = orchestration.build_report(meta)
    assert [f["severity"] for f in report["findings"]] == ["info"]
    assert report["status"] == "ok"


def test_build_report_survives_malformed_metadata():
    meta = {"x.y": {"memory": "lots", "sysctl": [1, 2], "mounts": {"a": 1}, "exposed": 3,
                    "uid0_accounts": "root", "assessment": None, "swap": {"percent": True}},
            "bad": "not a mapping"}
    report = orchestration.build_report(meta)
    assert report["findings"] == [] and report["status"] == "ok"


async def test_summarize_without_llm_publishes_report_with_null_narrative():
    ctx, published = make_ctx("orchestration.summarize", metadata=sample_metadata())
    report = await orchestration.summarize(ctx)
    assert report["narrative"] is None
    assert published["orchestration.summarize"]["report"] == report
    assert "orchestration.summarize" not in report["actions"]


async def test_summarize_asks_the_llm_for_a_narrative():
    llm = ScriptedProvider("  Swap is nearly full; fix ASLR.  ")
    ctx, _ = make_ctx("orchestration.summarize", llm=llm.gateway(), metadata=sample_metadata())
    report = await orchestration.summarize(ctx)
    assert report["narrative"] == "Swap is nearly full; fix ASLR."
    (request,) = llm.requests
    system, prompt = request.messages[0], request.messages[-1]
    assert request.max_tokens == 96 and system.role == "system" and prompt.role == "user"
    assert "swap in use 85%" in system.content and "Overall status: critical" in system.content
    # The request is the system's own text: the system message, not the user's.
    assert "health reporter" in system.content and "health reporter" not in prompt.content


async def test_a_narrative_stating_numbers_or_names_not_in_the_metadata_is_omitted():
    llm = ScriptedProvider("Disk on / is 96% full and /var/log is at 42%; check sshd on port "
                           "2222.").gateway()
    ctx, _ = make_ctx("orchestration.summarize", llm=llm, metadata=sample_metadata())
    report = await orchestration.summarize(ctx)
    assert report["narrative"] is None
    error = report["narrative_error"]
    assert "'/var/log'" in error and "'42'" in error and "'2222'" in error
    assert "'96'" not in error  # that one is a published fact
    assert "\n" not in error  # one line


async def test_a_number_that_only_matches_the_reports_time_stamp_is_not_grounded(monkeypatch):
    # 16:42:42 on the report's clock: "42" must still be refused (this test failed once at
    # 16:42, when the time stamp was part of the facts).
    monkeypatch.setattr(orchestration.time, "time", lambda: 1_796_661_762.0)
    assert "42" in orchestration.iso(1_796_661_762.0)
    llm = ScriptedProvider("The log partition is at 42%.").gateway()
    ctx, _ = make_ctx("orchestration.summarize", llm=llm, metadata=sample_metadata())
    report = await orchestration.summarize(ctx)
    assert report["narrative"] is None and "'42'" in report["narrative_error"]


async def test_a_narrative_grounded_in_the_metadata_is_shown():
    text = "Disk on / is 96% full and swap is at 85%; kernel.randomize_va_space is 0."
    ctx, _ = make_ctx("orchestration.summarize", llm=ScriptedProvider(text).gateway(),
                      metadata=sample_metadata())
    report = await orchestration.summarize(ctx)
    assert report["narrative"] == text and report["narrative_error"] is None


@pytest.mark.parametrize("text", [
    "The health report is a warning, and the health report is a warning",
    "ls\nls\nls\nls\nls\nls\nls\nls\nls",
    "",
])
async def test_a_looping_or_empty_narrative_is_omitted(text):
    ctx, _ = make_ctx("orchestration.summarize", llm=ScriptedProvider(text).gateway(),
                      metadata=sample_metadata())
    report = await orchestration.summarize(ctx)
    assert report["narrative"] is None
    assert "loops" in report["narrative_error"] or "no text" in report["narrative_error"]


async def test_a_slow_narrative_is_omitted_with_a_note_and_the_step_succeeds():
    slow = ScriptedProvider(Turn("never sent", wait=asyncio.Event()))  # the event stays unset
    ctx, _ = make_ctx("orchestration.summarize", args={"narrative_seconds": 0.05},
                      llm=slow.gateway(), metadata=sample_metadata())
    report = await orchestration.summarize(ctx)
    assert report["narrative"] is None and "longer than 0.05 s" in report["narrative_error"]


def test_the_narrative_request_passes_the_systems_own_injection_guardrail():
    from aios.security.detectors import InjectionDetector

    report = orchestration.build_report(sample_metadata())
    detector = InjectionDetector()
    assert detector.detect(orchestration._prompt(report))  # all of it as a user's text: flagged
    # What the guardrail scans is the user message: not flagged.
    assert detector.detect(orchestration._ASK) == []


async def test_summarize_records_the_llm_error_instead_of_failing():
    llm = ScriptedProvider(TransientProviderError("rate limited", provider="fake")).gateway()
    ctx, published = make_ctx("orchestration.summarize", llm=llm, metadata=sample_metadata())
    report = await orchestration.summarize(ctx)
    assert report["narrative"] is None
    assert "rate limited" in report["narrative_error"]
    assert published["orchestration.summarize"]["report"]["findings"]


async def test_summarize_reports_on_every_real_probe_of_this_host():
    ctx_meta: dict = {}
    registry = HandlerRegistry.builtin()
    probes = ["kernel.processes", "kernel.resources", "kernel.hardening", "storage.disks",
              "networking.interfaces", "networking.sockets", "security.firewall",
              "security.exposure", "user.sessions", "user.accounts", "application.containers",
              "application.services", "scalability.assess"]
    for name in probes:
        registry.resolve(name)(make_ctx(name, metadata=ctx_meta)[0])
    ctx, published = make_ctx("orchestration.summarize", metadata=ctx_meta)
    report = await orchestration.summarize(ctx)
    assert set(report["highlights"]) == {"kernel", "storage", "networking", "security", "user",
                                         "application", "scalability"}
    assert report["status"] in ("ok", "warning", "critical")
    assert report["highlights"]["kernel"]["kernel.processes"]["processes"] > 0
    json.dumps(published)
