"""Targets: Python callables, a model through the gateway, an OpenAI-compatible endpoint (a
real HTTP server speaking the wire format), and manifest actions run by the runtime."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.evaluation.eval_helpers import scripted, scripted_gateway, write_suite
from tests.support import Reply, ScriptedLLMServer

from aios.errors import ConfigError, PermanentProviderError, TransientProviderError
from aios.evaluation import Harness, Sample, TargetContext, build_target, load_suite
from aios.settings import Settings
from aios.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples" / "eval"
Sleep = tuple[list[float], Callable[[float], Any]]


async def test_callable_by_module_path_sync_in_a_thread() -> None:
    target = build_target({"type": "callable", "ref": "string:capwords"}, TargetContext())
    async with target:
        out = await target(Sample(id="1", input="hello big world"))
    assert out.output == "Hello Big World" and target.describe() == "callable:string:capwords"


async def test_callable_from_a_file_relative_to_the_suite(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text(
        "from aios.evaluation import TargetOutput\n"
        "async def f(inp):\n"
        "    return TargetOutput(output=str(inp).upper(), input_tokens=2, cost_usd=0.5)\n"
        "def g(sample):\n"
        "    return sample.id\n")
    ctx = TargetContext(base_dir=tmp_path)
    out = await build_target({"type": "callable", "ref": "t.py:f"}, ctx)(Sample("1", "ab"))
    assert (out.output, out.input_tokens, out.cost_usd) == ("AB", 2, 0.5)
    target = build_target({"type": "callable", "ref": "t.py:g", "pass_sample": True,
                           "thread": False}, ctx)
    assert (await target(Sample("id-9", "x"))).output == "id-9"


def test_bad_callable_refs_say_what_to_fix(tmp_path: Path) -> None:
    ctx = TargetContext(base_dir=tmp_path)
    with pytest.raises(ConfigError, match="not `module:function`"):
        build_target({"type": "callable", "ref": "nocolon"}, ctx)
    with pytest.raises(ConfigError, match="cannot import target module 'no_such_mod"):
        build_target({"type": "callable", "ref": "no_such_mod_x:f"}, ctx)
    with pytest.raises(ConfigError, match="has no function 'nope'"):
        build_target({"type": "callable", "ref": "string:nope"}, ctx)
    with pytest.raises(ConfigError, match="does not exist"):
        build_target({"type": "callable", "ref": "missing.py:f"}, ctx)


async def test_model_target_goes_through_the_gateway() -> None:
    provider = scripted("Paris.")
    target = build_target({"type": "model", "model": "m", "system": "Be brief.",
                           "max_tokens": 8}, TargetContext(gateway=scripted_gateway(provider,
                                                                                     "m")))
    out = await target(Sample("1", "Capital of France?"))
    assert out.output == "Paris." and (out.input_tokens, out.output_tokens) == (10, 5)
    assert out.cost_usd == pytest.approx((10 * 1.0 + 5 * 2.0) / 1e6) and out.model == "m"
    (request,) = provider.requests
    assert [m.role for m in request.messages] == ["system", "user"]
    assert request.max_tokens == 8 and request.temperature == 0.0 and request.cache is False
    with pytest.raises(ConfigError, match="needs the model gateway"):
        await build_target({"type": "model"}, TargetContext())(Sample("1", "q"))


async def test_http_target_speaks_openai_and_maps_errors() -> None:
    with ScriptedLLMServer() as server:
        server.script(Reply.ok("Tokyo", usage=(12, 3)), Reply.error(429, headers={
            "retry-after": "3"}), Reply.error(401, "bad key"))
        target = build_target({"type": "http", "base_url": server.url + "/v1",
                               "model": "tiny", "input_price": 1.0, "output_price": 4.0,
                               "system": "Short answers."}, TargetContext())
        async with target:
            out = await target(Sample("1", "Capital of Japan?"))
            assert (out.output, out.input_tokens, out.output_tokens) == ("Tokyo", 12, 3)
            assert out.cost_usd == pytest.approx((12 * 1.0 + 3 * 4.0) / 1e6)
            with pytest.raises(TransientProviderError) as limited:
                await target(Sample("2", "q"))
            assert limited.value.retry_after == 3.0 and limited.value.status == 429
            with pytest.raises(PermanentProviderError):
                await target(Sample("3", "q"))
        body = server.requests[0]
        assert body["model"] == "tiny" and body["messages"][0] == {
            "role": "system", "content": "Short answers."}


async def test_http_suite_retries_a_rate_limit_and_passes(store: Store, tmp_path: Path,
                                                          no_sleep: Sleep) -> None:
    delays, sleep = no_sleep
    with ScriptedLLMServer(default=Reply.ok("w0")) as server:
        server.script(Reply.error(429, headers={"retry-after": "1.5"}))
        path = write_suite(tmp_path, [{"id": "s0", "input": "say w0", "target": "w0"}],
                           evaluators=["exact_match"],
                           target={"type": "http", "base_url": server.url + "/v1",
                                   "model": "tiny"})
        report = await Harness(store, sleep=sleep).run(load_suite(path))
        assert len(server.requests) == 2
    assert report.summary.accuracy == 1.0 and delays[0] == 1.5


async def test_action_target_records_outputs_errors_and_trajectories(
        store: Store, settings: Settings) -> None:
    if store.dialect != "sqlite":
        pytest.skip("the action target opens the runtime on the settings' SQLite store")
    report = await Harness(store, settings=settings).run(
        load_suite(EXAMPLES / "actions_suite.yaml"))
    by_id = {r.sample_id: r for r in report.results}
    assert by_id["top-3"].status == "passed"
    assert by_id["top-3"].trajectory == ["kernel.processes"]
    assert len(by_id["top-3"].output["top_memory"]) <= 3
    bad = by_id["top-bad"]
    assert bad.status == "error" and "top" in str(bad.error) and bad.trajectory == [
        "kernel.processes"]
    assert report.summary.per_evaluator["trajectory"].passed == 4


async def test_action_target_runs_a_sequence_with_its_trajectory(settings: Settings) -> None:
    manifest = Path(__file__).parent / "seq_manifest.yaml"
    target = build_target({"type": "action", "sequence": "probe", "manifest": manifest.name},
                          TargetContext(settings=settings, base_dir=manifest.parent))
    async with target:
        out = await target(Sample("1", "ignored"))
    assert out.error is None
    assert out.trajectory == ("kernel.resources", "storage.disks")
    assert set(out.output) == {"kernel.resources", "storage.disks"}


def test_action_target_needs_exactly_one_of_action_or_sequence() -> None:
    with pytest.raises(ConfigError, match="exactly one of"):
        build_target({"type": "action"}, TargetContext())
