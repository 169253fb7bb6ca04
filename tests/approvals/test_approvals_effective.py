"""Issue 23 item 3: approvers see the EFFECTIVE arguments (schema defaults filled in and
marked as defaults) next to the given ones, in `aios approvals show` and on the dashboard."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from approval_helpers import proposal, requirement
from typer.testing import CliRunner

from aios.approvals import ApprovalService
from aios.approvals.effective import effective_args
from aios.cli.main import app
from aios.settings import Settings
from aios.store import Store

#: A cleanup whose target directory comes from a default nobody wrote in the step.
CLEANUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "target": {"type": "string", "default": "/var/lib/app/cache"},
        "older_than_days": {"type": "integer", "default": 7},
        "dry_run": {"type": "boolean", "default": False},
        "options": {"type": "object",
                    "properties": {"depth": {"type": "integer", "default": 3},
                                   "follow": {"type": "boolean"}}},
        "pattern": {"type": "string"},
    },
}


def test_defaults_are_filled_and_marked_given_values_win() -> None:
    given = {"older_than_days": 30, "options": {"follow": True}}
    eff = effective_args(given, CLEANUP_SCHEMA)
    assert eff.values == {"target": "/var/lib/app/cache", "older_than_days": 30,
                          "dry_run": False, "options": {"follow": True, "depth": 3}}
    assert eff.defaults == ("dry_run", "options.depth", "target")
    assert given == {"older_than_days": 30, "options": {"follow": True}}  # not changed
    assert eff.rows() == [("dry_run", False, True), ("older_than_days", 30, False),
                          ("options.depth", 3, True), ("options.follow", True, False),
                          ("target", "/var/lib/app/cache", True)]


def test_no_schema_or_no_defaults_adds_nothing() -> None:
    assert effective_args({"a": 1}, {}).values == {"a": 1}
    assert effective_args({"a": 1}, None).defaults == ()
    eff = effective_args({}, {"type": "object", "properties": {"p": {"type": "string"}}})
    assert eff.values == {} and eff.rows() == []


def test_a_default_value_is_copied_not_shared() -> None:
    schema = {"type": "object", "properties": {"tags": {"type": "array", "default": []}}}
    first = effective_args({}, schema)
    first.values["tags"].append("x")
    assert effective_args({}, schema).values == {"tags": []}


def _submit(**kw: Any) -> str:
    async def go() -> str:
        store = await Store.open(Settings().store_url())
        try:
            return (await ApprovalService(store).submit(
                proposal(**kw), requirement("high"))).id
        finally:
            await store.close()

    return asyncio.run(go())


def test_approvals_show_lists_effective_arguments_with_defaults_marked() -> None:
    request_id = _submit(args={"older_than_days": 30}, input_schema=CLEANUP_SCHEMA,
                         action="storage.cleanup")
    runner = CliRunner()
    shown = runner.invoke(app, ["approvals", "show", request_id[:10]],
                          env={"COLUMNS": "100"})
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert any("will run with" in line and "2 from the action's defaults" in line
               for line in lines)
    assert 'target = "/var/lib/app/cache"  (default)' in shown.stdout
    assert "older_than_days = 30" in shown.stdout
    assert "older_than_days = 30  (default)" not in shown.stdout
    assert "options.depth" not in shown.stdout  # options was not given: no nested default
    data = json.loads(runner.invoke(app, ["approvals", "show", request_id, "--json"]).stdout)
    assert data["args"] == {"older_than_days": 30}
    assert data["effective_args"] == {"target": "/var/lib/app/cache", "older_than_days": 30,
                                      "dry_run": False}
    assert data["defaults"] == ["dry_run", "target"]


def test_an_edit_changes_the_effective_arguments_too() -> None:
    request_id = _submit(args={}, input_schema=CLEANUP_SCHEMA, action="storage.cleanup")

    async def edit() -> None:
        from aios.auth import Role, UserStore

        store = await Store.open(Settings().store_url())
        try:
            alice = await UserStore(store).add("alice", Role.approver)
            await ApprovalService(store).approve(request_id, alice,
                                                 edited_args={"target": "/tmp/scratch"})
        finally:
            await store.close()

    asyncio.run(edit())
    data = json.loads(CliRunner().invoke(app, ["approvals", "show", request_id, "--json"]
                                         ).stdout)
    assert data["effective_args"]["target"] == "/tmp/scratch"
    assert "target" not in data["defaults"] and "older_than_days" in data["defaults"]
