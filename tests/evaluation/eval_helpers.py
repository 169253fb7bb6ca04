"""Helpers for the evaluation tests: suites written to disk, a scripted provider behind the
real gateway, a counting target module, a no-op sleep."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from aios.llm.gateway import Gateway
from aios.llm.types import LLMRequest, ModelInfo, Usage
from aios.testing import ScriptedProvider


def scripted(*replies: str, default: str | Callable[[LLMRequest], str] = "ok"
             ) -> ScriptedProvider:
    """The package's scripted provider as these tests price it: every call 10 + 5 tokens."""
    return ScriptedProvider(*replies, default=default, usage=Usage(input_tokens=10,
                                                                   output_tokens=5),
                            name="local")


def scripted_gateway(provider: ScriptedProvider, name: str = "judge") -> Gateway:
    """The real gateway with one model served by `provider` (priced, JSON-capable)."""
    info = ModelInfo(name=name, provider="local", model_id=f"{name}-1", supports_json=True,
                     input_price=1.0, output_price=2.0)
    return Gateway({name: info}, providers={name: provider})


def make_no_sleep() -> tuple[list[float], Callable[[float], Any]]:
    """A sleep that records the delays asked for and returns at once."""
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    return delays, sleep


COUNTING_TARGET = '''
import asyncio
from pathlib import Path

CALLS = Path({calls!r})


async def answer(sample):
    """Echo the text after 'say ' and record the call; 'boom' raises."""
    sid = sample.id
    with CALLS.open("a") as out:
        out.write(sid + "\\n")
    await asyncio.sleep(0)
    text = sample.input_text
    if "boom" in text:
        raise RuntimeError("the target exploded on " + sid)
    return text.split("say ", 1)[-1]
'''


def write_suite(directory: Path, rows: list[dict[str, Any]], *, evaluators: list[Any],
                target: Any = None, **fields: Any) -> Path:
    """A dataset, a counting target module and a suite in `directory`; returns the suite."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (directory / "target.py").write_text(COUNTING_TARGET.format(
        calls=str(directory / "calls.txt")))
    suite = {"name": fields.pop("name", "demo"), "dataset": "data.jsonl",
             "target": target or {"type": "callable", "ref": "target.py:answer",
                                  "pass_sample": True},
             "evaluators": evaluators, **fields}
    path = directory / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def calls(directory: Path) -> list[str]:
    """The sample ids the counting target was called with, in order."""
    path = directory / "calls.txt"
    return path.read_text().split() if path.exists() else []


def say_rows(n: int, *, fail_every: int = 0, boom: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """`n` samples 'say wN' expecting 'wN' (every `fail_every`-th expects something else)."""
    rows = []
    for i in range(n):
        expected = f"w{i}" if not (fail_every and i % fail_every == 0) else "other"
        text = "boom" if i in boom else f"say w{i}"
        rows.append({"id": f"s{i}", "input": text, "target": expected,
                     "tags": ["even" if i % 2 == 0 else "odd"]})
    return rows
