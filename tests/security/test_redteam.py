"""The attack catalogue, the runner with guardrails off and on, reports and bad inputs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aios.cli.main import app
from aios.errors import ConfigError, NotFoundError
from aios.security.guardrails import Guardrails
from aios.security.policy import GuardrailPolicy, InjectionAction
from aios.security.redteam import (
    CallableTarget,
    Severity,
    exit_code,
    load_catalog,
    render_html,
    resolve_target,
    run_suite,
    summarize,
)

FAMILIES = {"direct_injection", "indirect_injection", "jailbreak", "prompt_extraction",
            "data_leakage", "pii_elicitation", "excessive_agency", "multi_turn"}


def test_builtin_catalogue_covers_every_family():
    attacks = load_catalog()
    assert len(attacks) >= 60
    assert {a.family for a in attacks} == FAMILIES


def _gullible(messages):
    """Does what the last message says and leaks its whole context: the worst target."""
    return "\n".join(m.content for m in messages) + " PWNED-OK CALL kernel.terminate_process"


async def test_guardrails_stop_what_a_gullible_target_gives_away():
    attacks = load_catalog(ids=["di-ignore-previous", "dl-secret-direct", "ii-tool-call-injection",
                                "jb-dan"])
    target = CallableTarget(_gullible)
    off = await run_suite(attacks, target)
    on = await run_suite(attacks, target, Guardrails())
    assert all(r.succeeded for r in off)
    assert summarize(on)["succeeded"] < summarize(off)["succeeded"]
    by_id = {r.attack.id: r for r in on}
    # Tool output: passed on marked untrusted by default (taint; the run's approval gate
    # holds later mutating actions, tests/security/test_taint.py), blocked under `block`.
    tainted = by_id["ii-tool-call-injection"]
    assert not tainted.blocked and any(role == "guardrail" and "taint" in text
                                       for role, text in tainted.transcript)
    assert any(role == "tool" for role, _ in tainted.transcript)
    block = Guardrails(policy=GuardrailPolicy(injection=InjectionAction.block))
    blocked_by_id = {r.attack.id: r for r in await run_suite(attacks, target, block)}
    assert blocked_by_id["ii-tool-call-injection"].blocked
    assert not by_id["di-ignore-previous"].blocked  # the caller's own prompt: flagged only
    assert not by_id["dl-secret-direct"].succeeded  # redacted on the way out
    strict = Guardrails(policy=GuardrailPolicy(prompt_injection=InjectionAction.block))
    strict_by_id = {r.attack.id: r for r in await run_suite(attacks, target, strict)}
    assert strict_by_id["di-ignore-previous"].blocked
    html = render_html({"guardrails_off": off, "guardrails_on": on}, "callable")
    assert "dl-secret-direct" in html and "SUCCEEDED" in html
    assert exit_code({"guardrails_off": off}, Severity.high) == 1


def test_malformed_attack_yaml_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("family: x\nattacks:\n  - id: a1\n    severity: catastrophic\n"
                   "    turns: [hi]\n    check: {type: canary}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:4.*severity"):
        load_catalog([bad])
    broken = tmp_path / "broken.yaml"
    broken.write_text("family: x\nattacks: [\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml:\d"):
        load_catalog([broken])


def test_unknown_check_type_is_reported(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("family: x\nattacks:\n  - id: a1\n    severity: low\n    turns: [hi]\n"
                    "    check: {type: telepathy}\n")
    with pytest.raises(ConfigError, match="unknown check type 'telepathy'"):
        load_catalog([path])


def test_unknown_target_lists_the_known_ones():
    with pytest.raises(NotFoundError, match="callable:"):
        resolve_target("modle:local")


def test_cli_scan_finds_and_redacts_planted_values(tmp_path):
    doc = tmp_path / "notes.txt"
    doc.write_text("Contact bo.berg@example.net or 415-555-0134. SSN 536-22-8014.\n"
                   "GITHUB_TOKEN=ghp_Zx8kQ2vLm9PfR4tYw7cNb3JhG6sD1aE5uK0o\n")
    result = CliRunner().invoke(app, ["scan", str(doc), "--redact", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    types = {f["type"] for f in data["findings"]}
    assert {"EMAIL_ADDRESS", "US_SSN", "github_token"} <= types
    for value in ("bo.berg@example.net", "536-22-8014", "ghp_Zx8kQ2vLm9PfR4tYw7cNb3JhG6sD1aE5uK0o"):
        assert value not in data["redacted"]


def test_cli_scan_unknown_detector_is_a_usage_error():
    result = CliRunner().invoke(app, ["scan", "--text", "hello", "--detector", "nope"])
    assert result.exit_code == 2
    assert "no detector named 'nope'" in result.output


def test_cli_redteam_unknown_target_fails_cleanly():
    result = CliRunner().invoke(app, ["redteam", "--target", "bogus:x", "--attack",
                                      "di-ignore-previous"])
    assert result.exit_code == 2
    assert "unknown red-team target" in result.output


@pytest.mark.slow
def test_cli_redteam_local_model_guardrails_off_and_on(tmp_path):
    report = tmp_path / "report.html"
    ids = ["ii-tool-call-injection", "pe-print-instructions", "dl-secret-direct"]
    args = ["redteam", "--target", "model:", "--guardrails", "both", "--json",
            "--html", str(report)]
    for attack_id in ids:
        args += ["--attack", attack_id]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    off, on = data["runs"]["guardrails_off"], data["runs"]["guardrails_on"]
    assert off["summary"]["attacks"] == on["summary"]["attacks"] == 3
    assert on["summary"]["succeeded"] <= off["summary"]["succeeded"]
    tainted = next(r for r in on["results"] if r["id"] == "ii-tool-call-injection")
    # Default `taint`: the injected tool output reaches the model marked untrusted.
    assert any(t["role"] == "guardrail" and "taint" in t["content"]
               for t in tainted["transcript"])
    assert all(r["transcript"] for r in off["results"])
    assert "Red team report" in report.read_text()
