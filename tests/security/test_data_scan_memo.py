"""Data detectors that declare themselves pure (PII) are asked once per text: a text seen
before (a short answer a model repeats, a system prompt) gets the remembered findings, and the
policy applies to them as to fresh ones. Detectors that do not declare it are asked every
time, and a secret in a short completion is still masked or blocked."""

from __future__ import annotations

import dataclasses

import pytest

from aios.errors import GuardrailTripped
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, Usage
from aios.security.checks import DataAction
from aios.security.detectors.base import Finding
from aios.security.detectors.pii import PiiDetector
from aios.security.detectors.secrets import SecretsDetector
from aios.security.guardrails import Guardrails
from aios.security.policy import GuardrailPolicy
from aios.security.streaming import GuardrailProvider
from aios.testing import ScriptedProvider

MODEL = ModelInfo(name="fake", provider="fake", model_id="fake")
ANSWER = "Write to ada@example.com."
TOKEN = "ghp_Zx8kQ2vLm9PfR4tYw7cNb3JhG6sD1aE5uK0o"


class CountingPii(PiiDetector):
    def __init__(self) -> None:
        super().__init__(gazetteer=False)
        self.scanned: list[str] = []

    def detect(self, text: str) -> list[Finding]:
        self.scanned.append(text)
        return super().detect(text)


class CountingSecrets(SecretsDetector):
    def __init__(self) -> None:
        super().__init__()
        self.scanned: list[str] = []

    def detect(self, text: str) -> list[Finding]:
        self.scanned.append(text)
        return super().detect(text)


def _wrapped(answer: str, policy: GuardrailPolicy | None = None
             ) -> tuple[GuardrailProvider, CountingPii, CountingSecrets, Guardrails]:
    pii, secrets = CountingPii(), CountingSecrets()
    guardrails = Guardrails(detectors={"pii": pii, "secrets": secrets},
                            **({"policy": policy} if policy is not None else {}))
    provider = GuardrailProvider(ScriptedProvider(default=lambda r: answer), guardrails)
    return provider, pii, secrets, guardrails


async def test_a_repeated_answer_is_scanned_for_pii_once_and_masked_every_time() -> None:
    provider, pii, secrets, guardrails = _wrapped(ANSWER)
    answers = [(await provider.complete(LLMRequest.of("contact?"), MODEL)).text
               for _ in range(3)]
    fresh = PiiDetector(gazetteer=False).detect(ANSWER)
    assert fresh and all("ada@example.com" not in a for a in answers)
    assert len(set(answers)) == 1  # remembered findings mask exactly as fresh ones
    assert pii.scanned.count(ANSWER) == 1
    assert guardrails.data_scans.hits == 2
    # The secrets detector does not declare itself pure: asked every time.
    assert secrets.scanned.count(ANSWER) == 3


async def test_a_remembered_pii_finding_still_blocks_under_block() -> None:
    provider, pii, _, _ = _wrapped(ANSWER, GuardrailPolicy(pii=DataAction.block))
    for _ in range(2):
        with pytest.raises(GuardrailTripped):
            await provider.complete(LLMRequest.of("contact?"), MODEL)
    assert pii.scanned.count(ANSWER) == 1


async def test_a_secret_in_a_short_completion_is_masked_or_blocked_every_time() -> None:
    provider, _, secrets, _ = _wrapped(TOKEN)
    for _ in range(2):
        answer = (await provider.complete(LLMRequest.of("token?"), MODEL)).text
        assert TOKEN not in answer and answer
    assert secrets.scanned.count(TOKEN) == 2
    blocking, _, _, _ = _wrapped(f"it is {TOKEN}", GuardrailPolicy(secrets=DataAction.block))
    for _ in range(2):
        with pytest.raises(GuardrailTripped):
            await blocking.complete(LLMRequest.of("token?"), MODEL)


async def test_an_answer_with_nothing_to_mask_is_returned_as_it_came() -> None:
    fixed = LLMResponse(text="All systems nominal.", model="fake", provider="fake",
                        usage=Usage(3, 4))

    class Fixed:
        name = "fake"

        async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
            return fixed

    guardrails = Guardrails(detectors={"pii": CountingPii(), "secrets": CountingSecrets()})
    provider = GuardrailProvider(Fixed(), guardrails)  # type: ignore[arg-type]
    assert await provider.complete(LLMRequest.of("status?"), MODEL) is fixed
    masked = dataclasses.replace(fixed, text=ANSWER)
    Fixed.complete = lambda self, request, model: _answer(masked)  # type: ignore[method-assign]
    redacted = await provider.complete(LLMRequest.of("status?"), MODEL)
    assert redacted is not masked and "ada@example.com" not in redacted.text


async def _answer(response: LLMResponse) -> LLMResponse:
    return response


def test_the_builtin_data_detectors_declare_what_they_are() -> None:
    assert PiiDetector.pure is True
    assert getattr(SecretsDetector, "pure", False) is False  # its engine may fail per text
