"""Checks a completion against the request's `response_format` (JSON, optionally a schema).

`OutputCheckProvider` is the gateway wrapper: outside the guardrails (it checks the text the
caller will get), inside the budget and the ledger (a refused answer was still paid for: its
`RejectedOutput` carries the response, so both record its tokens and cost).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import jsonschema

from aios.errors import InvalidOutput
from aios.llm.provider import Provider
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, StreamChunk
from aios.llm.wrapper import WrapperProvider, closing

__all__ = ["JsonOutputChecker", "OutputCheckProvider", "RejectedOutput"]

# Small models often wrap JSON in a Markdown fence even when told not to.
_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(?P<body>.*?)\n?```\s*$", re.DOTALL)


class JsonOutputChecker:
    """Parses and validates JSON output; compiled schema validators are kept per schema."""

    def __init__(self) -> None:
        self._validators: dict[str, Any] = {}

    def check(self, text: str, schema: Mapping[str, Any], *, provider: str,
              model: str) -> tuple[str, InvalidOutput | None]:
        """The JSON text (a Markdown fence removed) and the error, if the output is invalid.

        The error is returned, not raised, so the caller can record the call's cost first.
        """
        body = text
        fenced = _FENCE.match(text)
        if fenced:
            body = fenced.group("body")
        shown = text if len(text) <= 200 else text[:200] + "..."
        try:
            value = json.loads(body)
        except ValueError as exc:
            return text, InvalidOutput(
                f"model {model!r} was asked for JSON but returned text that does not parse "
                f"({exc}): {shown!r}; use a model with capabilities.json, or relax the "
                "request's response_format", provider=provider, model=model)
        if not schema:
            if not isinstance(value, dict):
                return body, InvalidOutput(
                    f"model {model!r} was asked for a JSON object but returned "
                    f"{type(value).__name__}: {shown!r}", provider=provider, model=model)
            return body, None
        key = json.dumps(dict(schema), sort_keys=True, default=str)
        validator = self._validators.get(key)
        if validator is None:
            validator = self._validators[key] = jsonschema.Draft202012Validator(dict(schema))
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            detail = "; ".join(f"{'.'.join(str(p) for p in e.path) or '(root)'}: {e.message}"
                               for e in errors[:5])
            return body, InvalidOutput(
                f"model {model!r} returned JSON that does not match the requested schema: "
                f"{detail}", provider=provider, model=model)
        return body, None


class RejectedOutput(InvalidOutput):
    """`InvalidOutput` raised by the gateway: it carries the refused (and paid-for) response.

    Attributes:
        response: the answer the model gave, with its usage and cost.
    """

    def __init__(self, error: InvalidOutput, response: LLMResponse):
        super().__init__(str(error), provider=error.provider, model=error.model)
        self.response = response


class OutputCheckProvider(WrapperProvider):
    """Refuses output that is not what the request's `response_format` asked for.

    Valid JSON output comes back without a Markdown fence around it.

    Raises:
        RejectedOutput: the output does not parse or does not match the schema.
    """

    def __init__(self, inner: Provider, checker: JsonOutputChecker):
        super().__init__(inner)
        self.checker = checker

    def _checked(self, request: LLMRequest, response: LLMResponse) -> LLMResponse:
        assert request.response_format is not None
        text, error = self.checker.check(response.text, request.response_format,
                                         provider=response.provider, model=response.model)
        if text != response.text:
            response = dataclasses.replace(response, text=text)
        if error is not None:
            raise RejectedOutput(error, response)
        return response

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """`inner.complete`, checked."""
        response = await self.inner.complete(request, model)
        if request.response_format is None:
            return response
        return self._checked(request, response)

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """`inner.stream`; the whole answer is checked when its final chunk arrives."""
        async with closing(self.inner.stream(request, model)) as source:
            async for chunk in source:
                if chunk.response is not None and request.response_format is not None:
                    chunk = dataclasses.replace(chunk, response=self._checked(request,
                                                                              chunk.response))
                yield chunk
