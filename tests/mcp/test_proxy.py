"""The proxy: upstream MCP tools (a test server written with the SDK) as gated actions."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from aios.app import open_runtime
from aios.approvals import ApprovalService
from aios.auth import Role, UserStore
from aios.errors import ActionTimeout, ConfigError, HandlerError
from aios.manifest.loader import parse_manifest
from aios.manifest.schema import Manifest
from aios.mcp.proxy import _injection_scanner, open_proxy
from aios.mcp.store import PinStore
from aios.settings import Settings
from aios.store import Store

UPSTREAM = str(Path(__file__).with_name("upstream_server.py"))


@pytest.fixture(scope="module")
def scanner() -> Callable[[str], list[Any]]:
    """The real injection detector, loaded once for the module."""
    return _injection_scanner()


def manifest(notes: Path, mode: str = "normal", *, tools: dict[str, Any] | None = None,
             timeout: float = 20, env: dict[str, str] | None = None,
             sequences: dict[str, Any] | None = None, **server: Any) -> Manifest:
    spec: dict[str, Any] = server or {"command": sys.executable, "args": [UPSTREAM, mode],
                                      "env": {"NOTES_DIR": str(notes), **(env or {})}}
    spec.update(timeout=timeout, tools=tools or {})
    return Manifest.model_validate({"name": "proxy-test", "mcp_servers": {"notes": spec},
                                    "sequences": sequences or {}})


def offered(proxy: Any) -> dict[str, Any]:
    return {t.name: t for t in proxy.tools if t.offered}


def refused(proxy: Any) -> dict[str, str]:
    return {t.name: t.reason for t in proxy.tools if not t.offered}


async def test_tools_become_actions_with_gates_from_their_annotations(
        store: Store, tmp_path: Path, scanner: Any) -> None:
    m = manifest(tmp_path, tools={"plain": {"criticality": "low", "mutates": False}})
    async with open_proxy(m, store, scanner=scanner) as proxy:
        actions = proxy.manifest.agents["notes"].actions
    read, delete = actions["read_note"], actions["delete_note"]
    assert (read.criticality.value, read.mutates) == ("low", False)
    assert (delete.criticality.value, delete.mutates) == ("high", True)
    assert (actions["plain"].criticality.value, actions["plain"].mutates) == ("low", False)
    assert read.inputs["required"] == ["name"]
    assert refused(proxy) == {}


async def test_a_tool_without_annotations_is_mutating_and_high(
        store: Store, tmp_path: Path, scanner: Any) -> None:
    async with open_proxy(manifest(tmp_path), store, scanner=scanner) as proxy:
        plain = proxy.manifest.agents["notes"].actions["plain"]
    assert (plain.criticality.value, plain.mutates) == ("high", True)


async def test_sequence_runs_a_read_only_tool_and_gates_a_destructive_one(
        settings: Settings, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a").write_text("remember the milk")
    source = tmp_path / "m.yaml"
    source.write_text(f"""
name: proxy-e2e
mcp_servers:
  notes:
    command: {sys.executable}
    args: [{UPSTREAM}]
    env: {{NOTES_DIR: "{notes}"}}
sequences:
  tidy:
    steps:
      - action: notes.read_note
        with: {{name: a}}
      - action: notes.delete_note
        with: {{name: a}}
""")
    from aios.manifest.source import read_source
    loaded = parse_manifest(read_source(source))
    async with open_store_users(settings) as (alice, _):
        pass
    async with open_runtime(loaded, settings=settings, requester="bot") as runtime:
        first = await runtime.run("tidy")
        assert first.status == "waiting"
        read = first.steps["notes.read_note"]
        assert read.status == "succeeded"
        assert read.result == {"name": "a", "text": "remember the milk"}
        assert first.steps["notes.delete_note"].status == "waiting"
        assert (notes / "a").exists()
        approvals = ApprovalService(runtime.runs.store)
        (request,) = await approvals.queue(run_id=first.run_id)
        assert request.action == "notes.delete_note" and request.args == {"name": "a"}
        await approvals.approve(request.id, alice)
        done = await runtime.resume(first.run_id)
        assert done.status == "succeeded"
        assert done.steps["notes.delete_note"].result == {"deleted": "a"}
        again = await runtime.resume(first.run_id)
        assert again.status == "succeeded"
    assert not (notes / "a").exists()
    assert (notes / "deleted.log").read_text().splitlines() == ["a"]


class open_store_users:
    """Approvers alice and bob in the store of `settings`."""

    def __init__(self, settings: Settings):
        self.settings = settings

    async def __aenter__(self) -> tuple[Any, Any]:
        self.store = await Store.open(self.settings.store_url())
        users = UserStore(self.store)
        return (await users.add("alice", Role.approver), await users.add("bob", Role.approver))

    async def __aexit__(self, *exc: object) -> None:
        await self.store.close()


async def test_an_upstream_that_does_not_start_is_a_clear_error(
        store: Store, tmp_path: Path, scanner: Any) -> None:
    missing = manifest(tmp_path, command="/nonexistent/mcp-server", args=["x"])
    with pytest.raises(ConfigError, match=r"notes .*/nonexistent/mcp-server x.* did not "
                                          r"start: program not found"):
        async with open_proxy(missing, store, scanner=scanner):
            pass
    exits = manifest(tmp_path, "exit_at_start")
    with pytest.raises(ConfigError, match=r"did not start.*cannot open its database"):
        async with open_proxy(exits, store, scanner=scanner):
            pass


async def test_an_upstream_that_dies_mid_call_fails_the_call_and_is_restarted(
        store: Store, tmp_path: Path, scanner: Any) -> None:
    async with open_proxy(manifest(tmp_path), store, scanner=scanner) as proxy:
        upstream = proxy.upstreams["notes"]
        with pytest.raises(HandlerError, match="notes failed during crash: Connection closed"):
            await upstream.call("crash", {})
        again = await upstream.call("read_note", {"name": "zz"})
    assert again.structuredContent == {"name": "zz", "text": ""}


async def test_malformed_json_rpc_fails_the_call_fast(
        store: Store, tmp_path: Path, scanner: Any) -> None:
    async with open_proxy(manifest(tmp_path, timeout=60), store, scanner=scanner) as proxy:
        upstream = proxy.upstreams["notes"]
        with pytest.raises(HandlerError, match="answered something that is not JSON-RPC"):
            await upstream.call("garble", {})
        assert (await upstream.call("plain", {})).content[0].text == "hello"


async def test_a_hanging_upstream_hits_the_time_limit(
        store: Store, tmp_path: Path, scanner: Any) -> None:
    async with open_proxy(manifest(tmp_path, timeout=1), store, scanner=scanner) as proxy:
        with pytest.raises(ActionTimeout, match="did not answer stall in time"):
            await proxy.upstreams["notes"].call("stall", {})


async def test_invalid_schema_and_duplicate_names_are_not_offered(
        store: Store, tmp_path: Path, scanner: Any) -> None:
    async with open_proxy(manifest(tmp_path, "bad_schema"), store, scanner=scanner) as proxy:
        assert "not valid JSON Schema" in refused(proxy)["broken"]
        assert "broken" not in proxy.manifest.agents["notes"].actions
        assert "read_note" in offered(proxy)
    async with open_proxy(manifest(tmp_path, "duplicate"), store, scanner=scanner) as proxy:
        assert refused(proxy) == {"plain": "the server lists 2 tools named 'plain'"}
        assert "plain" not in proxy.manifest.agents["notes"].actions


async def test_a_poisoned_description_is_offered_only_when_allowed_by_name(
        store: Store, tmp_path: Path, scanner: Any) -> None:
    async with open_proxy(manifest(tmp_path, "poisoned"), store, scanner=scanner) as proxy:
        assert "flagged as a prompt injection" in refused(proxy)["add"]
        assert "allow: true" in refused(proxy)["add"]
    allowed = manifest(tmp_path, "poisoned", tools={"add": {"allow": True}})
    async with open_proxy(allowed, store, scanner=scanner) as proxy:
        assert "add" in offered(proxy)


async def test_a_changed_definition_is_refused_until_trusted(
        store: Store, tmp_path: Path, scanner: Any) -> None:
    desc = tmp_path / "desc.txt"
    desc.write_text("Read a note by name.")
    m = manifest(tmp_path, env={"DESC_FILE": str(desc)})
    async with open_proxy(m, store, scanner=scanner) as proxy:
        assert "read_note" in offered(proxy)
        desc.write_text("Read a note by name, and also its neighbours.")
        # The same process: a reconnect lists again, and the changed tool is refused.
        with pytest.raises(HandlerError):
            await proxy.upstreams["notes"].call("crash", {})
        read = next(h for h in proxy.handlers if h.__aios_handler__ == "mcp:notes.read_note")
        with pytest.raises(HandlerError, match=r"refused now: its definition changed"):
            await read(_ctx({"name": "a"}))
    async with open_proxy(m, store, scanner=scanner) as proxy:  # a second listing
        assert "aios mcp trust notes.read_note" in refused(proxy)["read_note"]
    assert await PinStore(store).trust("notes", "read_note", actor="ada") == ["read_note"]
    async with open_proxy(m, store, scanner=scanner) as proxy:
        assert "read_note" in offered(proxy)
    with pytest.raises(Exception, match="no changed tool definition of notes"):
        await PinStore(store).trust("notes", None, actor="ada")


def _ctx(args: dict[str, Any]) -> Any:
    class Ctx:
        pass

    ctx = Ctx()
    ctx.args = args  # type: ignore[attr-defined]
    return ctx


async def test_an_http_upstream_gets_its_headers_from_the_environment(
        store: Store, tmp_path: Path, scanner: Any) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, UPSTREAM, "--http", env={**_base_env(), "UPSTREAM_KEY": "s3cret",
                                                 "NOTES_DIR": str(tmp_path)},
        stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        port = re.search(r"PORT (\d+)", line).group(1)  # type: ignore[union-attr]
        m = manifest(tmp_path, url=f"http://127.0.0.1:{port}/mcp",
                     headers={"X-Upstream-Key": "NOTES_KEY"})
        async with open_proxy(m, store, scanner=scanner,
                              environ={"NOTES_KEY": "s3cret"}) as proxy:
            result = await proxy.upstreams["notes"].call("plain", {})
            assert result.content[0].text == "hello"
        with pytest.raises(ConfigError, match="environment variable NOTES_KEY is not set"):
            async with open_proxy(m, store, scanner=scanner, environ={}):
                pass
        with pytest.raises(ConfigError, match="HTTP 403"):
            async with open_proxy(m, store, scanner=scanner, environ={"NOTES_KEY": "wrong"}):
                pass
    finally:
        proc.terminate()
        await proc.wait()


def _base_env() -> dict[str, str]:
    import os
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}


@pytest.fixture
async def _unused() -> AsyncIterator[None]:
    yield
