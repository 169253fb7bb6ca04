"""LLM-as-judge through the real gateway with a scripted provider: robust parsing, retries,
errors that never pass, repeats with spread, pairwise in both orders."""

from __future__ import annotations

import pytest
from tests.evaluation.eval_helpers import scripted, scripted_gateway

from aios.errors import ConfigError
from aios.evaluation import EvaluatorContext, Sample, TargetOutput, build_evaluator
from aios.evaluation.evaluators import JudgeParseError, parse_pairwise_reply, parse_rubric_reply
from aios.llm.types import LLMRequest

SAMPLE = Sample(id="q1", input="What is the capital of France?", target="Paris")
OUTPUT = TargetOutput(output="It is Paris.")


@pytest.mark.parametrize(("reply", "score", "reason"), [
    ('{"score": 4, "reason": "good"}', 4, "good"),
    ('```json\n{"score": 5, "reason": "exact"}\n```', 5, "exact"),
    ('Sure! Here is my verdict: {"Score": "3", "Reason": "ok"} Hope that helps.', 3, "ok"),
    ("Score: 2\nReason: vague answer", 2, "vague answer"),
    ('{"rating": "4/5", "explanation": "fine"}', 4, "fine"),
])
def test_rubric_replies_parse_leniently(reply: str, score: float, reason: str) -> None:
    assert parse_rubric_reply(reply, 1, 5) == (score, reason)


@pytest.mark.parametrize("reply", ["I think it is good.", '{"score": 9}', "", '{"reason": "x"}'])
def test_rubric_replies_without_a_usable_score_do_not_parse(reply: str) -> None:
    with pytest.raises(JudgeParseError):
        parse_rubric_reply(reply, 1, 5)


@pytest.mark.parametrize(("reply", "winner"), [
    ('{"winner": "A", "reason": "r"}', "A"), ('{"winner": "Response B"}', "B"),
    ("Winner: tie", "tie"), ('{"better": "equal"}', "tie")])
def test_pairwise_replies_parse(reply: str, winner: str) -> None:
    assert parse_pairwise_reply(reply)[0] == winner


async def test_judge_score_and_reason_through_the_gateway() -> None:
    provider = scripted('{"score": 5, "reason": "names Paris"}')
    judge = build_evaluator("llm_judge", {"rubric": "Names the right city.", "model": "judge"},
                            EvaluatorContext(gateway=scripted_gateway(provider)))
    score = await judge.score(SAMPLE, OUTPUT)
    assert score.passed and score.value == 1.0 and score.reason == "names Paris"
    (request,) = provider.requests
    prompt = request.messages[-1].content
    assert "Names the right city." in prompt and "It is Paris." in prompt
    assert "REFERENCE ANSWER:\nParis" in prompt
    assert request.response_format is not None and request.cache is False


async def test_unparseable_reply_is_retried_then_parsed() -> None:
    provider = scripted("I'd say it's decent.", '{"score": 2, "reason": "weak"}')
    judge = build_evaluator("llm_judge", {"rubric": "r", "json_mode": False},
                            EvaluatorContext(gateway=scripted_gateway(provider),
                                             judge_model="judge"))
    score = await judge.score(SAMPLE, OUTPUT)
    assert score.status == "failed" and score.value == pytest.approx(0.25)
    assert len(provider.requests) == 2
    retry = provider.requests[1].messages
    assert retry[-2].role == "assistant" and retry[-2].content == "I'd say it's decent."
    assert "could not be used" in retry[-1].content


async def test_reply_that_never_parses_is_an_error_never_a_pass() -> None:
    provider = scripted(default="Looks great to me!")
    judge = build_evaluator("llm_judge", {"rubric": "r", "retries": 2, "model": "judge"},
                            EvaluatorContext(gateway=scripted_gateway(provider)))
    score = await judge.score(SAMPLE, OUTPUT)
    assert score.status == "error" and score.passed is None and score.value is None
    assert "did not parse after 3 attempt(s)" in str(score.error)
    assert len(provider.requests) == 3  # the gateway rejected each non-JSON reply


async def test_repeats_report_the_spread() -> None:
    provider = scripted('{"score": 5, "reason": "a"}', '{"score": 3, "reason": "b"}',
                        '{"score": 4, "reason": "c"}')
    judge = build_evaluator("llm_judge", {"rubric": "r", "repeats": 3, "model": "judge",
                                          "pass_score": 4},
                            EvaluatorContext(gateway=scripted_gateway(provider)))
    score = await judge.score(SAMPLE, OUTPUT)
    assert score.details["mean_score"] == 4.0 and score.passed
    assert sorted(score.details["scores"]) == [3, 4, 5]
    assert score.details["stdev"] == pytest.approx(1.0)
    assert (score.details["min"], score.details["max"]) == (3, 5)


async def test_pairwise_runs_both_orders_and_cancels_position_bias() -> None:
    # A judge that always prefers whatever comes first: a pure position bias.
    provider = scripted(default='{"winner": "A", "reason": "first is better"}')
    judge = build_evaluator("pairwise", {"model": "judge"},
                            EvaluatorContext(gateway=scripted_gateway(provider)))
    score = await judge.score(SAMPLE, OUTPUT)
    assert len(provider.requests) == 2
    first, second = (r.messages[-1].content for r in provider.requests)
    assert first.index("It is Paris.") < first.index("RESPONSE B")
    assert second.index("RESPONSE B") < second.index("It is Paris.")
    assert score.value == 0.5 and score.details["position_bias"] is True
    assert score.details["consistent"] is False and score.passed  # a tie is not worse


async def test_pairwise_consistent_preference_wins_or_loses() -> None:
    def prefer_candidate(request: LLMRequest) -> str:
        text = request.messages[1].content
        winner = "A" if text.index("It is Paris.") < text.index("RESPONSE B") else "B"
        return '{"winner": "%s", "reason": "more complete"}' % winner  # noqa: UP031

    provider = scripted(default=prefer_candidate)
    judge = build_evaluator("pairwise", {"model": "judge", "pass_on": "win"},
                            EvaluatorContext(gateway=scripted_gateway(provider)))
    won = await judge.score(SAMPLE, OUTPUT)
    assert won.value == 1.0 and won.passed and won.details["consistent"] is True

    def prefer_reference(request: LLMRequest) -> str:
        return "A" if prefer_candidate(request).count('"B"') else "B"

    provider = scripted(
        default=lambda r: '{"winner": "%s", "reason": "r"}' % prefer_reference(r))  # noqa: UP031
    judge = build_evaluator("pairwise", {"model": "judge"},
                            EvaluatorContext(gateway=scripted_gateway(provider)))
    lost = await judge.score(SAMPLE, OUTPUT)
    assert lost.value == 0.0 and lost.passed is False


async def test_pairwise_unparseable_order_is_an_error() -> None:
    provider = scripted('{"winner": "A"}', default="no idea")
    judge = build_evaluator("pairwise", {"model": "judge", "retries": 1, "json_mode": False},
                            EvaluatorContext(gateway=scripted_gateway(provider)))
    score = await judge.score(SAMPLE, OUTPUT)
    assert score.status == "error" and score.passed is None


def test_judges_need_the_gateway() -> None:
    with pytest.raises(ConfigError, match="needs the model gateway"):
        build_evaluator("llm_judge", {"rubric": "r"})
