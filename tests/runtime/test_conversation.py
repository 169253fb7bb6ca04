"""`Conversation`: the messages it keeps between turns are the ones a rebuild would give."""

from __future__ import annotations

from typing import Any

from aios.llm.types import Message, ToolCall
from aios.runtime.conversation import Conversation
from aios.store.agent_turns import TurnEntry


def model(turn: int, *ids: str) -> tuple[str, dict[str, Any]]:
    return "model", {"turn": turn, "text": "", "tokens": 15, "cost_usd": 0.001,
                     "tool_calls": [{"id": i, "name": "ops__probe", "arguments": "{}"}
                                    for i in ids]}


def tool(turn: int, call_id: str, status: str = "succeeded") -> tuple[str, dict[str, Any]]:
    return "tool", {"turn": turn, "call_id": call_id, "status": status, "content": call_id,
                    "step_id": f"t{turn}:{call_id}", "key": f"k-{call_id}"}


def test_parallel_results_answered_out_of_order_go_back_in_call_order() -> None:
    conv = Conversation()

    def add(kind: str, data: dict[str, Any]) -> None:
        conv.add(TurnEntry(conv.next_seq(), kind, data))

    add("message", {"role": "user", "content": "go"})
    add(*model(1, "a", "b"))
    add(*tool(1, "b"))
    assert conv.pending() == (1, [(0, ToolCall("a", "ops__probe", "{}"))])
    # A turn with a call unanswered is sent as it stands, and built again once answered.
    assert [m.content for m in conv.messages()] == ["go", "", "b"]
    add(*tool(1, "a", "invalid_arguments"))
    add(*model(2, "a"))  # a provider reusing a call id in another turn
    add(*tool(2, "a"))
    sent = conv.messages()
    assert [(m.role, m.content, m.tool_call_id) for m in sent] == [
        ("user", "go", None), ("assistant", "", None), ("tool", "a", "a"),
        ("tool", "b", "b"), ("assistant", "", None), ("tool", "a", "a")]
    assert sent == Conversation(conv.entries).messages()  # as a resume rebuilds it
    assert sent[2] == Message("tool", "a", tool_call_id="a", trusted=True)  # a refusal
    assert conv.pending() is None and conv.tokens == 30 and round(conv.usd, 3) == 0.002
    assert conv.refused_in_a_row == 0 and conv.runs_of("k-a") == 2 and conv.runs_of("k-b") == 1


def test_refusals_in_a_row_count_until_a_call_is_not_refused() -> None:
    conv = Conversation()
    for i, status in enumerate(["unknown_tool", "invalid_arguments", "succeeded",
                                "unknown_tool", "unknown_tool"]):
        conv.add(TurnEntry(i, *tool(1, str(i), status)))
        assert conv.refused_in_a_row == [1, 2, 0, 1, 2][i]
    conv.add(TurnEntry(5, "end", {"reason": "invalid_calls"}))
    assert conv.end() == {"reason": "invalid_calls"}
