"""Streamed tool calls through the guardrails: pieces passed on as they come, checked whole.

A provider that streams tool calls (`StreamChunk.tool_deltas`) sends each call's first piece
(index, id, name), then fragments of its arguments (JSON text). `ToolCallStreams` passes them
on as they come, each call through the same `StreamSanitizer` as the answer's text, holding
back only what the guardrails need:

- no placeholder was put in the prompt and no data check blocks: fragments pass untouched,
  at once;
- pseudonymisation put placeholders (`<EMAIL_1>`) in the prompt: a call's arguments keep back
  as many characters as the longest placeholder and are never cut through one, so each is
  restored whole, its value escaped as JSON inside a JSON string (`JsonRestorer`): no fragment
  carries half a placeholder or a half-restored one;
- a data check blocks at stage `completion` (`secrets: block`): the arguments are held back
  like the text (`holdback` characters, never cut through a finding), and each piece is
  checked before it goes, so what the check blocks is refused before it leaves.

The id and name go out at once in every case. When the provider's whole calls arrive, each is
checked whole (`check_tool_calls`: the blocking data checks over its restored arguments).
A call refused then, or mid-stream, raises `GuardrailTripped`; fragments already sent cannot
be taken back, so the stream fails (the endpoint ends it with an error event and without a
`tool_calls` finish, so a client does not run the call). Redacting checks leave tool-call
arguments alone, streamed or not: a tool needs the real values (restored from placeholders).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aios.errors import GuardrailTripped
from aios.llm.types import ToolCall, ToolCallDelta, evolve
from aios.security.checks import Stage
from aios.security.decisions import GuardrailDecision
from aios.security.guardrails import Guardrails
from aios.security.masking import Masker
from aios.security.policy import EffectivePolicy

__all__ = ["JsonRestorer", "ToolCallStreams", "blocking_checks", "check_tool_calls"]

#: A sanitizer factory: `(clean, detect_spans, holdback)` -> an object with `feed` / `flush`
#: (`aios.security.streaming.StreamSanitizer`).
SanitizerFactory = Callable[..., Any]


class JsonRestorer:
    """Puts placeholders' values back into JSON text that arrives in pieces (each holding
    whole placeholders), remembering across pieces whether it is inside a JSON string: there
    a value is written escaped (a quote in a name keeps the JSON valid); elsewhere as it is,
    as `Masker.restore` does."""

    def __init__(self, masker: Masker):
        self.masker = masker
        self._active = bool(masker.mapping)  # no placeholders: nothing to restore, ever
        self._in_string = False
        self._escaped = False

    def _scan(self, text: str) -> None:
        in_string, escaped = self._in_string, self._escaped
        for char in text:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = in_string
            elif char == '"':
                in_string = not in_string
        self._in_string, self._escaped = in_string, escaped

    def __call__(self, text: str) -> str:
        if not self._active:
            return text
        out: list[str] = []
        pos = 0
        for start, end in self.masker.spans(text):
            self._scan(text[pos:start])
            value = self.masker.restore(text[start:end])
            out.append(text[pos:start])
            out.append(json.dumps(value, ensure_ascii=False)[1:-1] if self._in_string
                       else value)
            pos = end
        self._scan(text[pos:])
        out.append(text[pos:])
        return "".join(out)


def blocking_checks(policy: EffectivePolicy) -> EffectivePolicy | None:
    """`policy` reduced to its data checks that block at stage `completion` (None: none)."""
    checks = {c.name: c for c in policy.at(Stage.completion, "data")
              if c.action(Stage.completion) == "block"}
    return EffectivePolicy(checks=checks) if checks else None


def check_tool_calls(guardrails: Guardrails, blocking: EffectivePolicy | None,
                     calls: Iterable[ToolCall], *, subject: str,
                     run_id: str | None = None) -> None:
    """Refuse a tool call whose arguments a blocking data check flags.

    Raises:
        GuardrailTripped: naming the call, the check and the kinds found (never the values).
    """
    if blocking is None:
        return
    for call in calls:
        for check in blocking.at(Stage.completion, "data"):
            found = guardrails.findings(check, call.arguments)
            if not found:
                continue
            top = max(found, key=lambda f: f.score)
            decision = GuardrailDecision(subject, Stage.completion, check.name, "block",
                                         tuple((f.type, f.score) for f in found), run_id,
                                         detector=top.detector)
            guardrails.emit(decision)
            kinds = ", ".join(sorted({f.type for f in found}))
            raise GuardrailTripped(
                f"{subject}: the arguments of its tool call {call.name!r} ({call.id}) contain "
                f"{check.name} ({kinds}); blocked by the guardrail policy (the {check.name} "
                "check's action at stage completion is block)", decision=decision)


@dataclass
class _Call:
    """One streamed call: what was sent of it, and its arguments' sanitizer (None: none
    needed, fragments pass as they are)."""

    sanitizer: Any = None
    id: str = ""
    name: str = ""
    sent: list[str] = field(default_factory=list)


class ToolCallStreams:
    """The tool calls of one stream, passed on piece by piece (see the module docstring).

    Args:
        guardrails: the checks and decision hooks.
        policy: the call's effective policy.
        masker: the prompt's masker (its placeholders are restored in the arguments).
        sanitizer: makes the hold-back buffer of each call's arguments (`StreamSanitizer`).
        subject, run_id: named in decisions and errors.
        holdback: characters kept back when a blocking check must see them first.
    """

    def __init__(self, guardrails: Guardrails, policy: EffectivePolicy, masker: Masker, *,
                 sanitizer: SanitizerFactory, subject: str, run_id: str | None = None,
                 holdback: int = 96):
        self.guardrails = guardrails
        self.masker = masker
        self.subject = subject
        self.run_id = run_id
        self.blocking = blocking_checks(policy)
        placeholders = masker.mapping
        self._make = sanitizer
        self._holdback = holdback if self.blocking is not None else \
            max(map(len, placeholders), default=0)
        self._needed = self.blocking is not None or bool(placeholders)
        self._calls: dict[int, _Call] = {}
        self._checked: tuple[ToolCall, ...] | None = None

    @property
    def started(self) -> bool:
        """Whether any call came in pieces."""
        return bool(self._calls)

    def _sanitizer(self, call: _Call) -> Any:
        if not self._needed:
            return None
        restore = JsonRestorer(self.masker)
        blocking = self.blocking

        def clean(text: str) -> str:
            restored = restore(text)
            check_tool_calls(self.guardrails, blocking, (ToolCall(call.id, call.name, restored),),
                             subject=self.subject, run_id=self.run_id)
            return restored

        def spans(text: str) -> list[tuple[int, int]]:
            found = self.masker.spans(text)  # never cut through a placeholder
            if blocking is not None:  # nor through a finding
                for group in self.guardrails.data_findings(text, blocking,
                                                           Stage.completion).values():
                    found.extend((f.start, f.end) for f in group)
            return found

        # Only detectors need whole words; placeholders need only their own spans kept whole.
        return self._make(clean, spans, holdback=self._holdback, words=blocking is not None)

    def feed(self, deltas: Iterable[ToolCallDelta]) -> tuple[ToolCallDelta, ...]:
        """The pieces to pass on now for `deltas` (a call's first piece, with its id and
        name, always; its arguments as far as they may go).

        Raises:
            GuardrailTripped: a blocking check flagged the arguments.
        """
        out = []
        for delta in deltas:
            call = self._calls.get(delta.index)
            if call is None:
                call = self._calls[delta.index] = _Call()
                call.sanitizer = self._sanitizer(call)
            call.id = call.id or delta.id
            call.name = call.name or delta.name
            ready = delta.arguments if call.sanitizer is None else \
                call.sanitizer.feed(delta.arguments)
            if delta.id or delta.name or ready:
                call.sent.append(ready)
                out.append(evolve(delta, arguments=ready))
        return tuple(out)

    def flush(self) -> tuple[ToolCallDelta, ...]:
        """The rest of every call's arguments, once the provider has sent them all."""
        out = []
        for index, call in self._calls.items():
            rest = call.sanitizer.flush() if call.sanitizer is not None else ""
            if rest:
                call.sent.append(rest)
                out.append(ToolCallDelta(index, arguments=rest))
        return tuple(out)

    def assembled(self, calls: tuple[ToolCall, ...]) -> tuple[ToolCall, ...]:
        """The provider's whole `calls` as the reader got them, piece by piece (after
        `flush`): the arguments sent, restored; a call that came whole is restored here."""
        indices = sorted(self._calls)
        out = []
        for position, call in enumerate(calls):
            if position < len(indices):
                streamed = self._calls[indices[position]]
                out.append(evolve(call, arguments="".join(streamed.sent)))
            else:
                out.append(evolve(call, arguments=JsonRestorer(self.masker)(call.arguments)))
        return tuple(out)

    def check(self, calls: tuple[ToolCall, ...]) -> None:
        """Check the whole calls (once for the same calls).

        Raises:
            GuardrailTripped: a blocking check flagged a call's arguments.
        """
        if calls and calls != self._checked:
            check_tool_calls(self.guardrails, self.blocking, calls, subject=self.subject,
                             run_id=self.run_id)
            self._checked = calls
