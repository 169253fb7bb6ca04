"""`aios users`: one step to add a user with a password, `passwd` to change it, and disable /
enable / delete, which take effect on the user's tokens at once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from typer.testing import CliRunner

from aios.auth import TokenStore, UserStore
from aios.cli.main import app
from aios.errors import AuthenticationError
from aios.settings import Settings
from aios.store import Store

runner = CliRunner()


def cli(*args: str, code: int = 0, stdin: str | None = None) -> Any:
    result = runner.invoke(app, list(args), input=stdin, env={"COLUMNS": "160"})
    assert result.exit_code == code, (args, result.output)
    return result


def _authenticates(token: str) -> bool:
    async def go() -> bool:
        store = await Store.open(Settings().store_url())
        try:
            await TokenStore(store).authenticate(token)
            return True
        except AuthenticationError:
            return False
        finally:
            await store.close()

    return asyncio.run(go())


def _password_ok(name: str, password: str) -> bool:
    async def go() -> bool:
        store = await Store.open(Settings().store_url())
        try:
            await UserStore(store).check_password(name, password)
            return True
        except AuthenticationError:
            return False
        finally:
            await store.close()

    return asyncio.run(go())


def test_add_with_a_password_in_one_step_then_passwd_changes_it() -> None:
    cli("users", "add", "carol", "--role", "approver", "--password", stdin="s3cret\ns3cret\n")
    assert _password_ok("carol", "s3cret")
    again = cli("users", "add", "carol", "--role", "approver", "--password", code=2,
                stdin="x\nx\n")
    assert "aios users passwd carol" in again.output
    assert "password" not in again.output.split("error:")[0].lower()  # never prompted
    cli("users", "passwd", "carol", stdin="n3w-pw\nn3w-pw\n")
    assert _password_ok("carol", "n3w-pw") and not _password_ok("carol", "s3cret")
    cli("users", "passwd", "nobody", code=2, stdin="a\na\n")


def test_disable_enable_and_delete_act_on_tokens_at_once() -> None:
    cli("users", "add", "dave", "--role", "approver")
    token = cli("users", "token", "dave", "--expires", "1h").stdout.strip()
    assert _authenticates(token)
    cli("users", "disable", "dave")
    assert not _authenticates(token)
    listed = {u["name"]: u for u in json.loads(cli("users", "list", "--json").stdout)}
    assert listed["dave"]["disabled"] is True
    cli("users", "enable", "dave")
    assert _authenticates(token)
    cli("users", "delete", "dave")
    assert not _authenticates(token)
    assert json.loads(cli("users", "list", "--json").stdout) == []
    assert json.loads(cli("users", "tokens", "--json").stdout) == []
    cli("users", "delete", "dave", code=2)
