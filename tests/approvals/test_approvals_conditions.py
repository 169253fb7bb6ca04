"""`when:` conditions (CEL) in approval rules: checked at manifest load with file:line errors,
and at run time gating exactly the calls they should, on both sides of each condition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aios.approvals import ActionFacts, ApprovalLayer, ApprovalPolicy, ApprovalService, Mode
from aios.errors import ApprovalDenied, ManifestError
from aios.manifest import Manifest
from aios.manifest.loader import load_manifest
from aios.runtime import (
    ActionContext,
    HandlerRegistry,
    IdempotencyLayer,
    Runtime,
    TimeoutLayer,
    handler,
)
from aios.store import RunStore, Store

CALLS: list[dict[str, Any]] = []


@handler("tcond.delete")
async def delete(ctx: ActionContext) -> dict[str, Any]:
    CALLS.append(dict(ctx.args))
    return {"deleted": ctx.args.get("count")}


HEAD = """\
name: conditions
env: {ENVIRONMENT: dev}
agents:
  files:
    actions:
      delete:
        handler: "tcond.delete"
        mutates: true
        inputs:
          type: object
          properties:
            count: {type: integer}
            dir: {type: string, default: /srv/app}
            note: {type: string}
          required: [count]
approvals:
  rules:
    - action: files.delete
"""


def write(tmp_path: Path, when: str) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(HEAD + f"      when: {when}\n      mode: require\n")
    return path


# -- at load: every kind of bad condition names the file and line --------------------------

BAD = [
    ('"args.count >"', "does not parse as CEL"),
    ('"args.cuont > 100"', "unknown argument 'cuont' of files.delete (its arguments: count, "
                           "dir, note)"),
    ('"args.count > \'many\'"', "operand types do not fit"),
    ('"args.dir < 3"', "operand types do not fit"),
    ('"args.note == \'x\'"', "optional argument 'note'"),
    ('"confidence < 0.5"', "fails when the agent states no confidence"),
    ('"args.count + 1"', "not true or false"),
    ('"ctx.env.REGION == \'eu\'"', "ctx.env.REGION, which the manifest's env does not set"),
    ('"unknown_var > 1"', "Undefined variable"),
]


@pytest.mark.parametrize(("when", "message"), BAD)
def test_a_bad_condition_is_refused_at_load_with_file_and_line(tmp_path: Path, when: str,
                                                               message: str) -> None:
    path = write(tmp_path, when)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    text = str(caught.value)
    assert f"{path}:19 [approvals.rules.0.when]" in text and message in text, text


GOOD = ['"args.count > 100"', '"ctx.env.ENVIRONMENT == \'prod\'"',
        '"confidence != null && confidence < 0.5"', '"has(args.note) && args.note == \'x\'"',
        '"args.dir.startsWith(\'/etc\') || args.count >= 1000"']


@pytest.mark.parametrize("when", GOOD)
def test_good_conditions_load(tmp_path: Path, when: str) -> None:
    rule = load_manifest(write(tmp_path, when)).approvals.rules[0]
    assert rule.when == when.strip('"').replace("\\'", "'")


# -- the policy: both sides of each condition ----------------------------------------------

def facts(args: dict[str, Any], confidence: float | None = None,
          env: dict[str, str] | None = None) -> ActionFacts:
    return ActionFacts("files.delete", "low", True, confidence=confidence,
                       args={"dir": "/srv/app", **args},
                       context={"run_id": "r", "step_id": "s", "env": env or {}})


def policy(when: str) -> ApprovalPolicy:
    return ApprovalPolicy.model_validate({"rules": [
        {"action": "files.delete", "when": when, "mode": "require"}]})


@pytest.mark.parametrize(("when", "gated", "passes"), [
    ("args.count > 100", facts({"count": 101}), facts({"count": 100})),
    ("args.dir.startsWith('/etc')", facts({"count": 1, "dir": "/etc/x"}), facts({"count": 1})),
    ("confidence != null && confidence < 0.7", facts({"count": 1}, 0.69),
     facts({"count": 1}, 0.7)),
    ("confidence != null && confidence < 0.7", facts({"count": 1}, 0.5),
     facts({"count": 1}, None)),
    ("ctx.env.ENVIRONMENT == 'prod'", facts({"count": 1}, env={"ENVIRONMENT": "prod"}),
     facts({"count": 1}, env={"ENVIRONMENT": "dev"})),
    ("ctx.agent == 'files' && args.count >= 10", facts({"count": 10}), facts({"count": 9})),
])
def test_each_condition_gates_one_side_only(when: str, gated: ActionFacts,
                                            passes: ActionFacts) -> None:
    assert policy(when).evaluate(gated).mode is Mode.require
    assert policy(when).evaluate(passes).mode is Mode.auto  # low: the level's own policy


def test_a_condition_that_cannot_be_evaluated_denies_the_call() -> None:
    with pytest.raises(ApprovalDenied, match=r"approvals.rules\[0\] could not decide it"):
        policy("args.count > 100").evaluate(facts({}))  # count missing at run time


# -- a real runtime: the rule gates only the calls it should -------------------------------

@pytest.fixture
async def runs(store: Store) -> Any:
    repo = RunStore(store)
    yield repo
    await repo.writer.close()


async def test_a_when_rule_gates_only_the_calls_it_should(tmp_path: Path, store: Store,
                                                          runs: RunStore) -> None:
    CALLS.clear()
    path = write(tmp_path, '"args.count > 100 || args.dir.startsWith(\'/etc\')"')
    manifest: Manifest = load_manifest(path)
    service = ApprovalService(store)
    registry = HandlerRegistry()
    registry.add(delete)
    rt = Runtime(manifest, runs, registry=registry, layers=[
        ApprovalLayer(service, manifest.approvals, "ops", 0), IdempotencyLayer(runs),
        TimeoutLayer()])
    small = await rt.execute("files.delete", {"count": 5})
    assert small.ok and CALLS == [{"count": 5}]
    big = await rt.execute("files.delete", {"count": 500})
    assert big.status == "waiting"
    etc = await rt.execute("files.delete", {"count": 1, "dir": "/etc/nginx"})
    assert etc.status == "waiting"
    assert CALLS == [{"count": 5}]
    queued = sorted((r.args["count"], r.action) for r in await service.queue())
    assert queued == [(1, "files.delete"), (500, "files.delete")]
