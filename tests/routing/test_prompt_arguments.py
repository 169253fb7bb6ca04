"""Arguments of a natural-language request: read from it, their sources, and the refusal of a
change whose required argument the request does not give."""

from __future__ import annotations

from typing import Any

import pytest

from aios.manifest.schema import Action
from aios.routing.arguments import ArgValue, ground, plan_arguments, refusal


def action(properties: dict[str, Any], required: list[str], *, mutates: bool = True,
           params: dict[str, Any] | None = None) -> Action:
    return Action.model_validate({
        "handler": "x", "mutates": mutates, "params": params or {},
        "inputs": {"type": "object", "properties": properties, "required": required}})


PURGE = action({"directory": {"type": "string"}, "older_than_days": {"type": "number"},
                "dry_run": {"type": "boolean"}, "pattern": {"type": "string",
                                                            "default": "*.tmp"}},
               ["directory"])


def sources(args: dict[str, ArgValue]) -> dict[str, tuple[Any, str]]:
    return {k: (v.value, v.source) for k, v in args.items()}


def test_values_the_request_states_are_read_with_their_source() -> None:
    args = plan_arguments("delete files older than 30 days in /var/tmp", PURGE)
    assert sources(args) == {"directory": ("/var/tmp", "request"),
                             "older_than_days": (30, "request"),
                             "pattern": ("*.tmp", "default")}
    assert refusal("files.purge", PURGE, args) is None


def test_explicit_name_value_forms_and_a_flag_named_in_the_request() -> None:
    args = plan_arguments("purge directory=/srv/cache older_than_days: 7.5 as a dry run "
                          "pattern '*.log'", PURGE)
    assert sources(args) == {"directory": ("/srv/cache", "request"),
                             "older_than_days": (7.5, "request"),
                             "dry_run": (True, "request"), "pattern": ("*.log", "request")}


def test_a_mutating_action_without_its_required_argument_is_refused_naming_it() -> None:
    args = plan_arguments("delete old files", PURGE)
    assert args["directory"] == ArgValue(None, "missing")
    reason = refusal("files.purge", PURGE, args)
    assert reason is not None and "`directory`" in reason and "files.purge" in reason


def test_a_default_does_not_stand_in_for_a_required_argument_of_a_change() -> None:
    spec = action({"directory": {"type": "string"}}, ["directory"],
                  params={"directory": "/tmp/aios"})
    args = plan_arguments("delete old files", spec)
    assert args["directory"] == ArgValue("/tmp/aios", "default")
    reason = refusal("files.purge", spec, args)
    assert reason is not None and "only a default ('/tmp/aios')" in reason
    # A read-only action runs on its defaults (the plan shows them as defaults).
    look = action({"directory": {"type": "string"}}, ["directory"], mutates=False,
                  params={"directory": "/tmp/aios"})
    assert refusal("files.list", look, plan_arguments("list files", look)) is None


def test_enum_members_and_the_only_number_are_read() -> None:
    spec = action({"service": {"type": "string", "enum": ["nginx", "redis"]},
                   "count": {"type": "integer"}}, ["service"])
    assert sources(plan_arguments("restart redis 3 times", spec)) == {
        "service": ("redis", "request"), "count": (3, "request")}


@pytest.mark.parametrize(("given", "source"), [
    ({"directory": "/var/tmp"}, "request"),
    ({"directory": "/VAR/TMP/"}, "request"),
    ({"directory": "/srv"}, "model"),
])
def test_a_models_value_is_grounded_only_when_the_request_contains_it(
        given: dict[str, Any], source: str) -> None:
    args = ground("please clean /var/tmp", PURGE, given)
    assert args["directory"].source == source
    assert args["pattern"] == ArgValue("*.tmp", "default")
    assert (refusal("files.purge", PURGE, args) is None) == (source == "request")


def test_numbers_lists_and_flags_from_a_model() -> None:
    spec = action({"pids": {"type": "array", "items": {"type": "integer"}},
                   "force": {"type": "boolean"}}, ["pids", "force"])
    grounded = ground("kill 412 and 977 with force", spec, {"pids": [412, 977], "force": True})
    assert sources(grounded) == {"pids": ([412, 977], "request"), "force": (True, "request")}
    guessed = ground("kill 412", spec, {"pids": [412, 978], "force": True})
    assert sources(guessed) == {"pids": ([412, 978], "model"), "force": (True, "model")}
    reason = refusal("proc.kill", spec, guessed)
    assert reason is not None and "`pids`" in reason and "[412, 978]" in reason
