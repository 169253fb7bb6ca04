"""The approval policy: levels, ordered rules, groups, durations; bad policies name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from aios.approvals import ActionFacts, ApprovalPolicy, Mode, parse_duration
from aios.errors import ManifestError
from aios.manifest.loader import load_manifest


def facts(action: str = "storage.clean", level: str = "high", **kw: object) -> ActionFacts:
    return ActionFacts(action=action, criticality=level, mutates=kw.pop("mutates", True),  # type: ignore[arg-type]
                       **kw)  # type: ignore[arg-type]


def test_default_levels_auto_notify_one_and_two_approvers() -> None:
    policy = ApprovalPolicy()
    assert policy.evaluate(facts(level="low")).mode is Mode.auto
    assert policy.evaluate(facts(level="medium")).mode is Mode.notify
    high = policy.evaluate(facts(level="high"))
    assert (high.mode, high.approvals, high.route[0].group) == (Mode.require, 1, "approvers")
    assert [s.group for s in high.route] == ["approvers"]  # high: reject on expiry
    critical = policy.evaluate(facts(level="critical"))
    assert critical.approvals == 2
    assert [s.group for s in critical.route] == ["approvers", "admins"]  # escalation chain
    assert critical.priority > high.priority


def test_overriding_one_field_of_a_level_keeps_its_other_defaults() -> None:
    policy = ApprovalPolicy.model_validate({"levels": {"critical": {"deadline": "1h"}}})
    critical = policy.levels.critical
    assert critical.deadline == 3600 and critical.approvals == 2
    assert critical.escalation[0].to == "admins"


def test_rules_match_in_order_first_match_wins() -> None:
    policy = ApprovalPolicy.model_validate({"rules": [
        {"action": "storage.*", "mutates": False, "mode": "auto"},
        {"action": "storage.*", "level": "critical"},
        {"agent": "storage", "mode": "deny"},
    ]})
    assert policy.evaluate(facts("storage.disks", "high", mutates=False)).mode is Mode.auto
    hit = policy.evaluate(facts("storage.clean", "low"))
    assert (hit.mode, hit.level, hit.approvals, hit.rule) == (Mode.require, "critical", 2, 1)
    assert policy.evaluate(facts("kernel.kill", "low")).mode is Mode.auto  # no rule: level


def test_rule_matchers_agent_forensic_criticality_and_confidence() -> None:
    policy = ApprovalPolicy.model_validate({"rules": [
        {"forensic": True, "mode": "auto"},
        {"confidence_below": 0.7, "mode": "require", "approvals": 2},
        {"agent": "kern*", "criticality": ["medium"], "mode": "require"},
    ]})
    assert policy.evaluate(facts(level="critical", forensic=True)).mode is Mode.auto
    unsure = policy.evaluate(facts(level="low", confidence=0.5))
    assert (unsure.mode, unsure.approvals) == (Mode.require, 2)
    assert policy.evaluate(facts(level="low", confidence=0.9)).mode is Mode.auto
    assert policy.evaluate(facts(level="low")).mode is Mode.auto  # no stated confidence
    assert policy.evaluate(facts("kernel.kill", "medium")).mode is Mode.require
    assert policy.evaluate(facts("user.add", "medium")).mode is Mode.notify


def test_rule_overrides_group_and_deadline_from_custom_groups() -> None:
    policy = ApprovalPolicy.model_validate({
        "groups": {"dba": {"users": ["dora"]}},
        "rules": [{"action": "*.drop_*", "approvers": "dba", "deadline": "15m"}]})
    req = policy.evaluate(facts("db.drop_table", "high"))
    assert req.route[0].group == "dba" and req.route[0].users == ("dora",)
    assert req.route[0].deadline == 900
    assert "approvers" in policy.groups  # built-in groups stay


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), (90, 90), ("90s", 90), ("15m", 900), ("24h", 86400), ("7d", 604800),
    ("2w", 1209600), ("1.5h", 5400)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


MANIFEST = """\
version: 1
agents:
  storage:
    actions:
      clean: {{handler: "storage.clean_old_files", criticality: high, mutates: true}}
approvals:
  wait_seconds: 2
{body}
"""


@pytest.mark.parametrize(("body", "line", "words"), [
    ("  levels:\n    critical:\n      approvals: 0\n", 10, "greater than or equal to 1"),
    ("  levels:\n    high:\n      deadline: soon\n", 10, "not a duration"),
    ("  rules:\n    - action: 'storage.*'\n      colour: red\n      mode: auto\n", 10,
     "unknown field 'colour'"),
    ("  rules:\n    - action: 'storage.*'\n      approvers: nobody\n", 6,
     "unknown approver group 'nobody'"),
    ("  rules:\n    - action: 'storage.*'\n", 9, "a rule needs an effect"),
    ("  levels:\n    high:\n      on_expiry: escalate\n", 9, "needs an `escalation` list"),
    ("  levels:\n    low:\n      mode: sometimes\n", 10, "auto"),
])
def test_malformed_policy_is_a_manifest_error_with_file_and_line(
        tmp_path: Path, body: str, line: int, words: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST.format(body=body))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    message = str(info.value)
    assert f"{path}:{line}" in message, message
    assert words in message


def test_valid_policy_loads_through_the_manifest(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST.format(body="  rules:\n    - {action: 'storage.*', mode: deny}\n"))
    manifest = load_manifest(path)
    assert manifest.approvals.wait_seconds == 2
    assert manifest.approvals.evaluate(facts()).mode is Mode.deny


@pytest.mark.parametrize(("autonomy", "level", "mutates", "gated"), [
    (0, "low", False, True),  # suggest only: even a read needs approval
    (1, "low", False, False), (1, "low", True, True),
    (2, "low", True, False), (2, "medium", True, True),
    (3, "medium", True, False), (3, "high", True, True),
    (4, "low", True, False), (None, "low", True, False),
])
def test_autonomy_levels_raise_the_gate(autonomy: int | None, level: str, mutates: bool,
                                        gated: bool) -> None:
    mode = ApprovalPolicy().evaluate(facts(level=level, mutates=mutates,
                                           autonomy=autonomy)).mode
    assert (mode is Mode.require) == gated


def test_autonomy_never_lowers_a_gate() -> None:
    strict = ApprovalPolicy.model_validate({"rules": [
        {"action": "storage.*", "mode": "deny"},
        {"action": "kernel.*", "approvals": 2, "level": "critical"}]})
    assert strict.evaluate(facts("storage.rm", "low", autonomy=0)).mode is Mode.deny
    for level in range(5):
        needed = strict.evaluate(facts("kernel.kill", "low", autonomy=level))
        assert (needed.mode, needed.approvals) == (Mode.require, 2)
    # A rule that made a high action auto is raised again by autonomy 3, not by 4.
    lax = ApprovalPolicy.model_validate({"rules": [{"action": "*", "mode": "auto"}]})
    assert lax.evaluate(facts(level="high", autonomy=3)).mode is Mode.require
    assert lax.evaluate(facts(level="high", autonomy=4)).mode is Mode.auto
