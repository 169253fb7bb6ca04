"""An agent run's conversation in memory: its entries, and what the loop asks of them.

The loop asks on every turn for the messages to send, the calls still unanswered, the tokens
and dollars spent, how many refused calls came in a row and how often a call already ran.
Each answer is kept up to date as entries are added (`Conversation.add`), so a turn costs
the entries it adds, not a pass over the whole conversation; the messages of the turns
whose calls are all answered are built once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from aios.llm.types import Message, ToolCall
from aios.store.agent_turns import TurnEntry

__all__ = ["OWN_TEXTS", "REFUSED", "Conversation"]

#: Tool results that refuse a malformed call (unknown tool, bad arguments).
REFUSED = frozenset({"unknown_tool", "invalid_arguments"})
#: Tool results the loop writes itself, never a tool's output.
OWN_TEXTS = REFUSED | {"repeated"}


class Conversation:
    """The entries of one agent run, in order (`TurnEntry`: message, model, tool, end).

    Attributes:
        entries: every entry, in order.
        models: the `model` entries (one per model turn).
        tokens: tokens the model turns spent.
        usd: dollars the model turns cost.
        refused_in_a_row: refused calls since the last call that was not refused.
    """

    def __init__(self, entries: Iterable[TurnEntry] = ()):
        self.entries: list[TurnEntry] = []
        self.models: list[TurnEntry] = []
        self.tokens = 0
        self.usd = 0.0
        self.refused_in_a_row = 0
        # Tool results by (turn, call id): providers may reuse call ids across turns.
        self._results: dict[tuple[int, str], TurnEntry] = {}
        self._runs: Counter[str] = Counter()
        # The messages of entries[:_done], whose model turns have every call answered.
        self._built: list[Message] = []
        self._done = 0
        for entry in entries:
            self.add(entry)

    def next_seq(self) -> int:
        """The number of the next entry."""
        return self.entries[-1].seq + 1 if self.entries else 0

    def add(self, entry: TurnEntry) -> None:
        """Append `entry` (numbered `next_seq()`)."""
        self.entries.append(entry)
        data = entry.data
        if entry.kind == "model":
            self.models.append(entry)
            self.tokens += int(data.get("tokens", 0))
            self.usd += float(data.get("cost_usd", 0.0))
        elif entry.kind == "tool":
            self._results[int(data["turn"]), data["call_id"]] = entry
            self.refused_in_a_row = (self.refused_in_a_row + 1
                                     if data["status"] in REFUSED else 0)
            if "step_id" in data and data.get("key") is not None:
                self._runs[data["key"]] += 1

    def end(self) -> dict[str, Any] | None:
        """The `end` entry's data, when the run ended."""
        last = self.entries[-1] if self.entries else None
        return last.data if last is not None and last.kind == "end" else None

    def runs_of(self, key: str) -> int:
        """Times the call with this key (action and arguments) ran."""
        return self._runs[key]

    def steps(self) -> list[dict[str, Any]]:
        """The data of the tool results of executed calls (those with a step), in order."""
        return [e.data for e in self.entries if e.kind == "tool" and "step_id" in e.data]

    def pending(self) -> tuple[int, list[tuple[int, ToolCall]]] | None:
        """The last model turn's calls that have no result yet, with their indexes."""
        if not self.models:
            return None
        last = self.models[-1].data
        turn = int(last["turn"])
        calls = [(i, ToolCall(c["id"], c["name"], c["arguments"]))
                 for i, c in enumerate(last["tool_calls"])
                 if (turn, c["id"]) not in self._results]
        return (turn, calls) if calls else None

    def messages(self) -> list[Message]:
        """The conversation as the model reads it: each model turn followed by the results
        of its calls, in the order it made them."""
        tail: list[Message] = []
        final = True  # every entry so far has its final messages
        for entry in self.entries[self._done:]:
            out, answered = self._messages_of(entry)
            if final and answered:  # nothing can be added to these any more: kept
                self._built.extend(out)
                self._done += 1
            else:
                final = False
                tail.extend(out)
        return [*self._built, *tail]

    def _messages_of(self, entry: TurnEntry) -> tuple[list[Message], bool]:
        """The messages of one entry, and whether they are final (every call answered)."""
        data = entry.data
        if entry.kind == "message":
            return [Message(data["role"], data["content"])], True
        if entry.kind != "model":
            return [], True  # tool results go after their model turn; the end says nothing
        calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in data["tool_calls"])
        out = [Message("assistant", data["text"], tool_calls=calls)]
        turn = int(data["turn"])
        answered = True
        for call in calls:
            result = self._results.get((turn, call.id))
            if result is None:
                answered = False
                continue
            # The loop's own answers (a malformed call's schema errors, a repeat) are not
            # tool output: the guardrails do not scan them as such.
            out.append(Message("tool", result.data["content"], tool_call_id=call.id,
                               trusted=result.data["status"] in OWN_TEXTS))
        return out, answered
