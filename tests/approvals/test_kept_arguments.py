"""The real values of masked arguments: sealed with AIOS_ARGS_KEY, or not kept when the action
says so; a resume gets them back, and a missing, wrong or rotated key is named with its fix."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from aios.approvals import ApprovalLayer, ApprovalService
from aios.auth import User
from aios.errors import ConfigError
from aios.manifest import Manifest
from aios.runtime import (
    ActionContext,
    HandlerRegistry,
    IdempotencyLayer,
    Runtime,
    TimeoutLayer,
    handler,
)
from aios.runtime.kept_args import ArgumentKeeper
from aios.security.sealing import ArgumentSeal
from aios.store import RunStore, Store

RAN: list[dict[str, Any]] = []
TOKEN = "ghp_R7sKq2ZxW9mNv4LpT8cYb3HdJ6fGa1Ue5Qo0"
ARGS = {"note": f"use {TOKEN}", "contact": "dana.lee@example.org", "region": "eu-west-1"}
PLAIN = {"region": "eu-west-1", "count": 3}


@handler("tkept.rotate")
async def rotate(ctx: ActionContext) -> dict[str, Any]:
    RAN.append(dict(ctx.args))
    return {"rotated": True}


def manifest(keep: bool = True) -> Manifest:
    return Manifest.model_validate({"agents": {"keys": {"actions": {"rotate": {
        "handler": "tkept.rotate", "criticality": "high", "mutates": True,
        "keep_arguments": keep}}}}})


def runtime(store: Store, m: Manifest, keys: tuple[str, ...] = ()) -> Runtime:
    runs = RunStore(store)
    registry = HandlerRegistry()
    registry.add(rotate)
    return Runtime(m, runs, registry=registry, layers=[
        ApprovalLayer(ApprovalService(store), m.approvals, "ops", 0), IdempotencyLayer(runs),
        TimeoutLayer()], keeper=ArgumentKeeper(masker=runs.masker, seal=ArgumentSeal(keys)))


async def approve_all(store: Store, alice: User) -> None:
    service = ApprovalService(store)
    for request in await service.queue():
        await service.approve(request.id, alice)


async def test_without_a_key_a_run_with_secret_arguments_is_refused_before_it_runs(
        store: Store) -> None:
    RAN.clear()
    rt = runtime(store, manifest())
    with pytest.raises(ConfigError, match="AIOS_ARGS_KEY") as caught:
        await rt.execute("keys.rotate", ARGS)
    assert "aios runs keygen" in str(caught.value)
    assert "keep_arguments: false" in str(caught.value)
    assert RAN == [] and await rt.runs.count_runs() == 0
    await rt.runs.writer.close()


async def test_arguments_without_secrets_need_no_key_and_are_stored_as_given(
        store: Store, people: dict[str, User]) -> None:
    RAN.clear()
    rt = runtime(store, manifest())
    first = await rt.execute("keys.rotate", PLAIN)
    record = await rt.runs.get_run(first.run_id)
    assert record.options["args"] == PLAIN and "sealed" not in record.options
    await approve_all(store, people["alice"])
    assert (await rt.resume(first.run_id)).status == "succeeded" and RAN == [PLAIN]
    await rt.runs.writer.close()


async def test_sealed_arguments_resume_with_the_key_and_with_a_rotation(
        store: Store, people: dict[str, User]) -> None:
    RAN.clear()
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    rt = runtime(store, manifest(), (old,))
    first = await rt.execute("keys.rotate", ARGS)
    assert first.status == "waiting"
    record = await rt.runs.get_run(first.run_id)
    assert record.options["args"]["note"] == "use <SECRET>"
    assert record.options["args"]["contact"] == "<EMAIL>"
    assert TOKEN not in str(record.options) and "dana.lee" not in str(record.options)
    await approve_all(store, people["alice"])

    for keys, wanted in (((), "AIOS_ARGS_KEY is not set"),
                         ((new,), "cannot be decrypted with AIOS_ARGS_KEY.*'NEW,OLD'")):
        with pytest.raises(ConfigError, match=wanted) as caught:
            await runtime(store, manifest(), keys).resume(first.run_id)
        assert "set AIOS_ARGS_KEY to" in str(caught.value)  # says what to set
    assert RAN == []
    rotated = runtime(store, manifest(), (new, old))  # new first, old still opens
    assert (await rotated.resume(first.run_id)).status == "succeeded"
    assert RAN == [ARGS]
    await rt.runs.writer.close()


async def test_keep_arguments_false_stores_no_real_value_and_resume_says_so(
        store: Store) -> None:
    RAN.clear()
    rt = runtime(store, manifest(keep=False))
    first = await rt.execute("keys.rotate", ARGS)  # no key needed
    assert first.status == "waiting"
    record = await rt.runs.get_run(first.run_id)
    assert "sealed" not in record.options and TOKEN not in str(record.options)
    with pytest.raises(ConfigError, match="keep_arguments: false") as caught:
        await rt.resume(first.run_id)
    assert "start the action again" in str(caught.value)
    await rt.runs.writer.close()


def test_a_key_that_is_not_a_fernet_key_is_refused_with_how_to_make_one() -> None:
    with pytest.raises(ConfigError, match="AIOS_ARGS_KEY: key 2 of 2 is not a Fernet key"):
        ArgumentSeal((Fernet.generate_key().decode(), "hunter2"))
    with pytest.raises(ConfigError, match="generate_key"):
        ArgumentSeal.from_setting("not-a-key")


def test_runs_keygen_prints_a_key_the_seal_accepts() -> None:
    from typer.testing import CliRunner

    from aios.cli.main import app

    result = CliRunner().invoke(app, ["runs", "keygen"])
    assert result.exit_code == 0, result.output
    seal = ArgumentSeal.from_setting(result.stdout.strip())
    assert seal.open(seal.seal({"a": 1}), what="test") == {"a": 1}


def test_a_key_file_is_made_once_and_shared_and_a_spoiled_one_is_named(tmp_path) -> None:
    from aios.security.sealing import ArgumentSeal

    key_file = tmp_path / "home" / "args.key"
    first = ArgumentSeal(key_file=key_file)
    assert first.configured and not key_file.exists()  # made on first need only
    token = first.seal({"token": "ghp_x"})
    assert key_file.stat().st_mode & 0o777 == 0o600
    # Another process on the same home reads the same key; an env key wins over the file.
    assert ArgumentSeal(key_file=key_file).open(token, what="run 1") == {"token": "ghp_x"}
    other = ArgumentSeal((Fernet.generate_key().decode(),), key_file=key_file)
    with pytest.raises(ConfigError, match="AIOS_ARGS_KEY"):
        other.open(token, what="run 1")
    key_file.write_text("not a key\n")
    with pytest.raises(ConfigError, match=f"key file {key_file} does not hold a Fernet key"):
        ArgumentSeal(key_file=key_file).open(token, what="run 1")
