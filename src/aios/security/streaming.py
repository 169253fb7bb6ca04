"""The guardrails around LLM calls: a `Provider` wrapper for the model gateway.

`GuardrailProvider` wraps any provider (it implements the same two methods):

- before the call, the injection checks run over user messages (stage `prompt`) and tool
  messages (stage `tool output`: documents and tool output, where indirect injection
  arrives), and the data checks at stage `prompt` (with `pseudonymise`, the PII check)
  replace what they find by placeholders (`<EMAIL_1>`) so the model never sees the values;
- after the call, placeholders in the answer are restored and the data checks at stage
  `completion` (PII, secrets, any registered data detector) handle the answer per policy
  (redact / block / allow);
- streamed answers are buffered just enough to redact across chunk boundaries: text is held
  back until it is `holdback` characters behind the newest chunk and not inside a finding,
  so a key split over two chunks is still masked whole;
- streamed tool calls pass on piece by piece, their arguments through the same buffer only
  as far as placeholders and blocking checks need (`aios.security.tool_streams`); a tool
  call whose arguments a data check that blocks at `completion` flags is refused, streamed
  or not.

`guardrail_wrapper(guardrails)` is the `(provider, model_info) -> Provider` factory the
gateway's `wrappers=` takes. The composition root puts it outside the fallback and retry
wrappers, so a prompt is checked once per call (not once per attempt). Checks of texts up to
`INLINE_CHARS` in all run right on the event loop; longer ones in a worker thread. The
detectors are regular expressions that hold the GIL, so a thread lets other requests run only
at the interpreter's switch interval; for a short text (a few hundred microseconds of
scanning) the hop to the thread and back costs more than the scan, and on a busy machine the
wait for the thread to be scheduled costs milliseconds of latency (`bench/openai_endpoint.py`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections.abc import AsyncIterator, Callable

from aios.llm.provider import Provider
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, StreamChunk, ToolCall, evolve
from aios.llm.wrapper import WrapperProvider, closing
from aios.security.checks import Stage
from aios.security.guardrails import Guardrails, map_strings
from aios.security.masking import Masker
from aios.security.policy import EffectivePolicy
from aios.security.tool_streams import ToolCallStreams, blocking_checks, check_tool_calls

__all__ = ["INLINE_CHARS", "GuardrailProvider", "StreamSanitizer", "guardrail_wrapper"]

#: Texts up to this many characters in all are scanned on the event loop, longer in a thread.
INLINE_CHARS = 1024


class StreamSanitizer:
    """Sanitises a stream of text pieces, holding back the tail that may still change.

    Args:
        clean: sanitises a piece of text (redacts; may raise GuardrailTripped).
        detect_spans: spans of findings in a text, to avoid cutting through one.
        holdback: characters kept unsent behind the newest chunk.
        words: never cut inside a word (for detectors, which a partial token could dodge);
            False cuts anywhere outside the spans (placeholders in JSON text, which has few
            spaces).
    """

    def __init__(self, clean: Callable[[str], str],
                 detect_spans: Callable[[str], list[tuple[int, int]]], holdback: int = 96,
                 *, words: bool = True):
        self.clean = clean
        self.detect_spans = detect_spans
        self.holdback = holdback
        self.words = words
        self._pending = ""

    def feed(self, piece: str) -> str:
        """Add `piece`; return the sanitised text that is now safe to send (may be empty)."""
        self._pending += piece
        if len(self._pending) <= self.holdback:
            return ""
        cut = len(self._pending) - self.holdback
        for start, end in self.detect_spans(self._pending):
            if start < cut < end:
                cut = start
        if self.words:
            space = max(self._pending.rfind(" ", 0, cut), self._pending.rfind("\n", 0, cut))
            if space > 0:
                cut = space + 1  # never split a word: a partial token could dodge detectors
            elif cut < len(self._pending) - self.holdback:
                return ""
        if cut <= 0:
            return ""
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return self.clean(ready)

    def flush(self) -> str:
        """The rest, sanitised, at the end of the stream."""
        ready, self._pending = self._pending, ""
        return self.clean(ready) if ready else ""


class GuardrailProvider(WrapperProvider):
    """A provider wrapper that applies the guardrails to prompts and completions."""

    def __init__(self, inner: Provider, guardrails: Guardrails, model: ModelInfo | None = None):
        super().__init__(inner)
        self.guardrails = guardrails
        self.model = model

    def _policy(self, request: LLMRequest) -> EffectivePolicy:
        return self.guardrails.policy_for(request.agent)

    def _prepare(self, request: LLMRequest, policy: EffectivePolicy, subject: str,
                 masker: Masker) -> LLMRequest:
        checked = tuple(self.guardrails.check_messages(request.messages, policy,
                                                       subject=subject, run_id=request.run_id))
        if checked != tuple(request.messages):  # flagged tool output, marked untrusted
            request = dataclasses.replace(request, messages=checked)
        if not policy.at(Stage.prompt, "data"):
            return request

        def mask(text: str) -> str:
            return self.guardrails.sanitize(text, policy, subject=subject, stage=Stage.prompt,
                                            masker=masker, run_id=request.run_id)

        messages = []
        for message in request.messages:
            # An assistant turn keeps its tool calls (a conversation with tools is sent back
            # whole), their arguments pseudonymised like the text, with the same placeholders.
            calls = tuple(evolve(c, arguments=_map_json(c.arguments, mask))
                          for c in message.tool_calls)
            content = mask(message.content)
            if content != message.content or calls != message.tool_calls:
                message = evolve(message, content=content, tool_calls=calls)
            messages.append(message)
        return dataclasses.replace(request, messages=tuple(messages))

    async def _checked(self, request: LLMRequest, policy: EffectivePolicy, subject: str,
                       masker: Masker) -> LLMRequest:
        """`_prepare` in a worker thread (detectors are CPU work), or right here when the
        texts are short (`INLINE_CHARS`) or every text was scanned before (an agent's
        conversation on its next turn)."""
        if sum(len(m.content or "") for m in request.messages) <= INLINE_CHARS or (
                not policy.at(Stage.prompt, "data")
                and self.guardrails.scanned(request.messages, policy)):
            return self._prepare(request, policy, subject, masker)
        return await asyncio.to_thread(self._prepare, request, policy, subject, masker)

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """Check the prompt, call the inner provider, restore and sanitise the answer."""
        policy = self._policy(request)
        masker = Masker(pseudonymise=policy.pseudonymise)
        subject = request.action or model.name
        prepared = await self._checked(request, policy, subject, masker)
        response = await self.inner.complete(prepared, model)
        text = masker.restore(response.text)
        if text:  # a turn of tool calls has none
            sanitize = functools.partial(
                self.guardrails.sanitize, text, policy, subject=subject, stage=Stage.completion,
                masker=Masker(), run_id=request.run_id)
            text = sanitize() if len(text) <= INLINE_CHARS else await asyncio.to_thread(sanitize)
        calls = _restore_calls(response.tool_calls, masker)
        if calls:  # a tool call carrying what a check blocks is refused, as text would be
            check_tool_calls(self.guardrails, blocking_checks(policy), calls, subject=subject,
                             run_id=request.run_id)
        if text is response.text and calls is response.tool_calls:
            return response  # nothing restored or redacted: no copy
        return dataclasses.replace(response, text=text, tool_calls=calls)

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """Like `complete`, chunk by chunk, with a small hold-back buffer."""
        policy = self._policy(request)
        masker = Masker(pseudonymise=policy.pseudonymise)
        subject = request.action or model.name
        prepared = await self._checked(request, policy, subject, masker)
        out_masker = Masker()

        def clean(text: str) -> str:
            return self.guardrails.sanitize(masker.restore(text), policy, subject=subject,
                                            stage=Stage.completion, masker=out_masker,
                                            run_id=request.run_id)

        def spans(text: str) -> list[tuple[int, int]]:
            restored = masker.restore(text)
            if restored != text:  # offsets shift with restoration: hold everything back
                return [(0, len(text))]
            found = self.guardrails.data_findings(text, policy, Stage.completion)
            return [(f.start, f.end) for group in found.values() for f in group]

        sanitizer = StreamSanitizer(clean, spans)
        calls = ToolCallStreams(self.guardrails, policy, masker, sanitizer=StreamSanitizer,
                                subject=subject, run_id=request.run_id)

        def whole(raw: tuple[ToolCall, ...]) -> tuple[ToolCall, ...]:
            """The provider's whole calls as the caller gets them, checked."""
            done = calls.assembled(raw) if calls.started else _restore_calls(raw, masker)
            calls.check(done)
            return done

        sent: list[str] = []
        async with closing(self.inner.stream(prepared, model)) as source:
            async for chunk in source:
                last = chunk.finish_reason is not None or chunk.usage is not None
                text = sanitizer.feed(chunk.text)
                if last:
                    text += sanitizer.flush()
                sent.append(text)
                deltas = calls.feed(chunk.tool_deltas) if chunk.tool_deltas else ()
                if chunk.tool_calls or last:  # the provider has sent every piece
                    deltas += calls.flush()
                if chunk.tool_calls:
                    chunk = evolve(chunk, tool_calls=whole(chunk.tool_calls))
                if chunk.response is not None:  # the whole answer, as the caller gets it
                    chunk = dataclasses.replace(chunk, response=dataclasses.replace(
                        chunk.response, text="".join(sent),
                        tool_calls=whole(chunk.response.tool_calls)))
                if text or last or chunk.tool_calls or deltas:
                    yield dataclasses.replace(chunk, text=text, tool_deltas=deltas)
        tail = sanitizer.flush()
        if tail:
            yield StreamChunk(text=tail)


def _map_json(arguments: str, fn: Callable[[str], str]) -> str:
    """Tool-call arguments (JSON text) with `fn` applied to every string inside.

    Applied to the parsed value, so a placeholder never breaks the JSON (a phone number
    written as a JSON number stays one); arguments that are not JSON are mapped as text.
    """
    try:
        value = json.loads(arguments)
    except ValueError:
        return fn(arguments)
    mapped = map_strings(value, fn)
    return arguments if mapped == value else json.dumps(mapped, ensure_ascii=False)


def _restore_calls(calls: tuple[ToolCall, ...], masker: Masker) -> tuple[ToolCall, ...]:
    """The model's tool calls with the real values back where it wrote placeholders."""
    if not calls or not masker.mapping:
        return calls
    return tuple(evolve(c, arguments=_map_json(c.arguments, masker.restore)) for c in calls)


def guardrail_wrapper(guardrails: Guardrails) -> Callable[[Provider, ModelInfo], Provider]:
    """The gateway wrapper factory: `Gateway(..., wrappers=[guardrail_wrapper(g)])`."""

    def wrap(provider: Provider, model: ModelInfo) -> Provider:
        return GuardrailProvider(provider, guardrails, model)

    return wrap
