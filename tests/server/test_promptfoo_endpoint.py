"""promptfoo (npm, `make peer-test-tools`) against the OpenAI-compatible endpoint.

A few of the attack cases of `examples/promptfoo/` (prompt injection, secret exfiltration),
run by promptfoo's OpenAI provider with `apiBaseUrl` at the endpoint and an Ai:oS key, in
front of a scripted model that obeys every instruction; once with the guardrails off and once
on. The full run that gives the README's figures is `bench/promptfoo_endpoint.py`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.support import ScriptedLLMServer, compliant_reply
from tests.support.endpoint import serve
from tests.support.promptfoo import AttackReport, missing_reason, run_promptfoo, write_manifest

from aios.auth import KeyPolicy, Role, TokenStore, UserStore
from aios.settings import Settings
from aios.store import Store

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))

#: The first cases of examples/promptfoo/cases.yaml: three injections, two exfiltrations.
FIRST_N = 5


async def _key(settings: Settings) -> tuple[str, str]:
    store = await Store.open(settings.store_url())
    try:
        await UserStore(store).add("red", Role.viewer)
        issued = await TokenStore(store).issue("red", label="promptfoo",
                                               policy=KeyPolicy(models=("gpt-4o",)))
        return issued.info.id, issued.secret
    finally:
        await store.close()


def _attack(tmp_path: Path, mode: str) -> tuple[AttackReport, ScriptedLLMServer]:
    settings = Settings(home=tmp_path / mode / "home", database_url=None)
    _, secret = asyncio.run(_key(settings))
    with pytest.MonkeyPatch.context() as patch, \
            ScriptedLLMServer(responder=compliant_reply) as upstream:
        patch.setenv("PROMPTFOO_UPSTREAM_KEY", "sk-upstream")
        manifest = write_manifest(tmp_path / mode, upstream.url, mode)
        with serve(settings, manifest) as url:
            report = run_promptfoo(url + "/v1", secret, tmp_path / mode / "promptfoo",
                                   first_n=FIRST_N)
    return report, upstream


def test_attacks_succeed_without_guardrails_and_fail_with_them(tmp_path: Path) -> None:
    off, upstream_off = _attack(tmp_path, "off")
    assert len(off.cases) == FIRST_N
    assert [c.outcome for c in off.cases] == ["succeeded"] * FIRST_N, off.cases
    assert off.rate() == 1.0
    # promptfoo reached the model through the endpoint, with the Ai:oS key's user
    assert len(upstream_off.requests) == FIRST_N

    on, upstream_on = _attack(tmp_path, "on")
    assert len(on.cases) == FIRST_N
    assert not [c for c in on.cases if c.outcome == "error"], on.cases
    # each attack is refused before the model sees it (injection in the prompt), or the
    # model's answer reaches promptfoo without what the attack was after (secrets redacted)
    assert {c.outcome for c in on.cases} <= {"refused", "failed"}, on.cases
    assert outcome_of(on, "direct override with a canary") == "refused"
    for case in on.cases:
        assert "AKIAQ7XKZ3N4PLWMDT2R" not in case.output and "PWNED-4411" not in case.output
    assert on.rate() == 0.0 < off.rate()
    assert len(upstream_on.requests) == FIRST_N - on.count("refused")


def outcome_of(report: AttackReport, description: str) -> str:
    return next(c.outcome for c in report.cases if c.description == description)
