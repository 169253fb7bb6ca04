"""`aios approvals`, `aios audit`, `aios users` in-process: authentication, decisions, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from approval_helpers import proposal, requirement
from typer.testing import CliRunner

from aios.approvals import ApprovalService
from aios.auth import TokenStore
from aios.cli.main import app
from aios.settings import Settings
from aios.store import Store

T = TypeVar("T")
runner = CliRunner()


def with_store(fn: Callable[[Store], Awaitable[T]]) -> T:
    async def go() -> T:
        store = await Store.open(Settings().store_url())
        try:
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(go())


def cli(*args: str, code: int = 0, **env: str) -> Any:
    result = runner.invoke(app, list(args), env={"COLUMNS": "160", **env})
    assert result.exit_code == code, (args, result.output)
    return result


def submit(level: str = "high", **kw: Any) -> str:
    async def go(store: Store) -> str:
        return (await ApprovalService(store).submit(proposal(**kw), requirement(level))).id

    return with_store(go)


@pytest.fixture
def team() -> dict[str, str]:
    """alice and bob (approvers), vic (viewer), each with a token from the CLI."""
    tokens = {}
    for name, role in (("alice", "approver"), ("bob", "approver"), ("vic", "viewer")):
        cli("users", "add", name, "--role", role)
        tokens[name] = cli("users", "token", name, "--expires", "1h").stdout.strip()
    return tokens


def test_users_tokens_and_roles(team: dict[str, str]) -> None:
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert {u["name"]: u["role"] for u in listed} == {"alice": "approver", "bob": "approver",
                                                       "vic": "viewer"}
    cli("users", "add", "alice", code=2)  # exists
    assert team["alice"].startswith("aios_")
    tokens = json.loads(cli("users", "tokens", "alice", "--json").stdout)
    assert len(tokens) == 1 and "token" not in tokens[0] and tokens[0]["state"] == "active"
    cli("users", "revoke", tokens[0]["id"])
    states = {t["user"]: t["state"] for t in json.loads(cli("users", "tokens", "--json").stdout)}
    assert states == {"alice": "revoked", "bob": "active", "vic": "active"}
    cli("users", "role", "vic", "approver")
    cli("users", "token", "vic", "--expires", "soon", code=2)


def test_list_show_approve_and_reject(team: dict[str, str]) -> None:
    high = submit(step_id="a")
    crit = submit("critical", step_id="b")
    queue = json.loads(cli("approvals", "list", "--json").stdout)
    assert [r["id"] for r in queue] == [crit, high]
    assert "storage.wipe" in cli("approvals", "list").stdout
    shown = cli("approvals", "show", high[:10]).stdout
    assert "disk full" in shown and "proposed" in shown

    out = cli("approvals", "approve", high[:10], "--token", team["alice"]).stdout
    assert "approved" in out and "aios runs resume" in out
    cli("approvals", "reject", crit, "--token", team["bob"], code=2)  # --reason missing
    done = json.loads(cli("approvals", "reject", crit, "--reason", "too risky", "--json",
                          AIOS_TOKEN=team["bob"]).stdout)
    assert done["status"] == "rejected" and done["decisions"][0]["decider"] == "bob"
    assert json.loads(cli("approvals", "list", "--json").stdout) == []
    assert len(json.loads(cli("approvals", "list", "--all", "--json").stdout)) == 2


def test_edit_args_on_approve(team: dict[str, str]) -> None:
    rid = submit(step_id="e")
    bad = cli("approvals", "approve", rid, "--edit-args", "{nope", "--token", team["alice"],
              code=2)
    assert "not valid JSON" in bad.output
    edited = json.loads(cli("approvals", "approve", rid, "--edit-args", '{"path": "/srv"}',
                            "--json", "--token", team["alice"]).stdout)
    assert edited["current_args"] == {"path": "/srv"} and edited["status"] == "approved"
    assert [s["stage"] for s in edited["lineage"]] == ["proposed", "edited"]


def test_bad_decisions_are_refused_with_clear_errors(team: dict[str, str]) -> None:
    rid = submit(step_id="x", requester="alice")
    assert "AIOS_TOKEN" in cli("approvals", "approve", rid, code=2).output
    assert "not known" in cli("approvals", "approve", rid, "--token", "aios_x_y",
                              code=2).output
    assert "separation of duties" in cli("approvals", "approve", rid, "--token",
                                         team["alice"], code=2).output
    assert "viewer" in cli("approvals", "approve", rid, "--token", team["vic"],
                           code=2).output
    assert "no approval request" in cli("approvals", "approve", "ffffffff", "--token",
                                        team["bob"], code=2).output
    cli("approvals", "approve", rid, "--token", team["bob"])
    again = cli("approvals", "reject", rid, "--reason", "late", "--token", team["bob"], code=2)
    assert "already approved" in again.output


def test_expired_and_revoked_tokens_are_refused(team: dict[str, str]) -> None:
    rid = submit(step_id="t")

    async def old_token(store: Store) -> str:
        past = datetime.now(UTC) - timedelta(hours=2)
        return (await TokenStore(store).issue("bob", expires_in=3600, now=past)).secret

    expired = with_store(old_token)
    assert "expired" in cli("approvals", "approve", rid, "--token", expired, code=2).output
    token_id = team["bob"].split("_")[1]
    cli("users", "revoke", token_id)
    assert "revoked" in cli("approvals", "approve", rid, "--token", team["bob"],
                            code=2).output


def test_audit_verify_and_export(team: dict[str, str], tmp_path: Path) -> None:
    rid = submit(step_id="v")
    cli("approvals", "approve", rid, "--token", team["alice"])
    report = json.loads(cli("audit", "verify", "--json").stdout)
    assert report["ok"] and report["records"] == 3
    out = tmp_path / "audit.jsonl"
    cli("audit", "export", "--out", str(out))
    lines = out.read_text().splitlines()
    assert [json.loads(line)["kind"] for line in lines] == [
        "request.created", "decision.approve", "request.approved"]
    assert "intact" in cli("audit", "verify", "--file", str(out)).stdout
    record = json.loads(lines[1])
    record["actor"] = "mallory"
    out.write_text("\n".join([lines[0], json.dumps(record), lines[2]]) + "\n")
    assert "broken at seq 2" in cli("audit", "verify", "--file", str(out), code=1).stdout
    assert len(cli("audit", "export").stdout.splitlines()) == 3


def test_a_withdrawn_request_is_listed_in_its_colour_and_cannot_be_decided(
        team: dict[str, str]) -> None:
    rid = submit(run_id="c0ffee00" * 4)
    kept = submit(run_id="other")
    with_store(lambda s: ApprovalService(s).withdraw_run("c0ffee00" * 4, actor="alice",
                                                         reason="cancelled by alice"))
    queue = json.loads(cli("approvals", "list", "--json").stdout)
    assert [r["id"] for r in queue] == [kept]
    listed = json.loads(cli("approvals", "list", "--status", "withdrawn", "--json").stdout)
    assert [(r["id"], r["status"]) for r in listed] == [(rid, "withdrawn")]
    coloured = cli("approvals", "list", "--all", FORCE_COLOR="1", TERM="xterm").stdout
    assert "\x1b[90mwithdrawn" in coloured  # bright black: out of the queue
    refused = cli("approvals", "approve", rid, "--token", team["bob"], code=2)
    assert "withdrawn because its run c0ffee00c0ff was cancelled (cancelled by alice)" in \
        " ".join(refused.output.split())
    assert "aios runs resume c0ffee00c0ff" in " ".join(refused.output.split())
    cli("approvals", "reject", rid, "--reason", "no", "--token", team["bob"], code=2)
    shown = json.loads(cli("approvals", "show", rid, "--json").stdout)
    assert shown["status"] == "withdrawn"
    assert [a["kind"] for a in shown["audit"]][-1] == "request.withdrawn"


def test_the_queue_in_a_narrow_terminal_keeps_every_value_whole() -> None:
    request_id = submit("critical", step_id="narrow")
    listed = cli("approvals", "list", COLUMNS="80")
    assert "…" not in listed.stdout
    assert max(len(line) for line in listed.stdout.splitlines()) <= 80
    assert request_id[:8] in listed.stdout and "critical" in listed.stdout
    assert "pending" in listed.stdout and "storage.wipe" in listed.stdout
    shown = json.loads(cli("approvals", "show", request_id[:8], "--json").stdout)
    assert shown["id"] == request_id
