"""`aios redteam`: attacks run concurrently, the report prints when piped and its
guardrails-off / -on columns are labelled within 80 columns (issue 23 item 7)."""

from __future__ import annotations

import json

from tests.security import redteam_support
from typer.testing import CliRunner

from aios.cli.main import app

TARGET = "callable:tests.security.redteam_support:slow_target"


def test_attacks_run_concurrently_and_the_piped_report_is_labelled() -> None:
    redteam_support.IN_FLIGHT.update(now=0, peak=0)
    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, [
        "redteam", "--target", TARGET, "--guardrails", "both", "--concurrency", "4"])
    assert result.exit_code == 0, result.output
    # Both modes at once, four attacks each: more than one reply in flight.
    assert redteam_support.IN_FLIGHT["peak"] > 1
    out = result.stdout
    assert "red team: callable:" in out  # printed although stdout is not a terminal
    assert "guardrails off" in out and "guardrails on" in out
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "guardrails off: " in out and "guardrails on: " in out  # the summary lines


def test_one_at_a_time_when_asked() -> None:
    redteam_support.IN_FLIGHT.update(now=0, peak=0)
    result = CliRunner().invoke(app, ["redteam", "--target", TARGET, "--guardrails", "off",
                                      "--concurrency", "1", "--family", "jailbreak", "--json"])
    assert result.exit_code == 0, result.output
    assert redteam_support.IN_FLIGHT["peak"] == 1
    rows = json.loads(result.stdout)["runs"]["guardrails_off"]["results"]
    from aios.security.redteam import load_catalog

    expected = [a.id for a in load_catalog(None, families=["jailbreak"], ids=None)]
    assert [r.get("id", r.get("attack_id")) for r in rows] == expected  # catalogue order


async def test_the_two_columns_share_each_identical_greedy_answer() -> None:
    import asyncio

    from aios.llm.types import Message, Usage
    from aios.security.redteam import ModelTarget, SharedAnswers
    from aios.testing import ScriptedProvider, Turn

    release = asyncio.Event()  # every call is held until both columns have asked

    async def release_soon() -> None:
        await asyncio.sleep(0.01)
        release.set()

    provider = ScriptedProvider(
        default=lambda request: Turn(f"echo {request.messages[-1].content}", wait=release),
        usage=Usage(1, 1))
    gateway, answers = provider.gateway("m"), SharedAnswers()
    off, on = (ModelTarget(gateway, "m", answers=answers) for _ in range(2))
    same = [Message("system", "be helpful"), Message("user", "what is 2+2?")]
    tainted = [Message("system", "be helpful"), Message("user", "[untrusted] what is 2+2?")]
    *replies, _ = await asyncio.gather(off.reply(same), on.reply(same), on.reply(tainted),
                                       release_soon())
    assert [r.text for r in replies] == ["echo what is 2+2?", "echo what is 2+2?",
                                         "echo [untrusted] what is 2+2?"]
    asked = [r.messages[-1].content for r in provider.requests]
    assert asked == ["what is 2+2?", "[untrusted] what is 2+2?"]  # one call each
    alone = ModelTarget(gateway, "m")  # without shared answers every reply is a call
    await alone.reply(same)
    assert len(provider.requests) == 3
