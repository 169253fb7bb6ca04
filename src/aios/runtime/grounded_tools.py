"""Tools held to the user's request: a mutating call runs only on values the user stated.

`aios prompt` runs the agent loop with this tool set. Besides the usual checks (a known tool,
arguments that fit its schema), a call of a mutating action is refused when one of its
required arguments is not in the request (`aios.routing.arguments.refusal`): the model gets
the refusal, naming the argument, as the tool result, and should ask the user instead of
guessing. A value the model read from a tool result counts as its own choice: in a one-shot
request, the user confirms such values by saying them.
"""

from __future__ import annotations

from aios.llm.types import ToolCall
from aios.manifest.schema import Manifest
from aios.routing.arguments import ground, refusal
from aios.runtime.agent_tools import CheckedCall, Refusal, ToolSet

__all__ = ["GroundedToolSet"]


class GroundedToolSet(ToolSet):
    """A `ToolSet` that also refuses mutating calls whose required arguments the request
    does not state.

    Args:
        manifest: the manifest declaring the actions.
        actions: the `agent.key` names the model may call.
        request: the user's request, as they wrote it.
    """

    def __init__(self, manifest: Manifest, actions: list[str], request: str):
        super().__init__(manifest, actions)
        self.request = request

    def check(self, call: ToolCall) -> CheckedCall | Refusal:
        """`ToolSet.check`, then the request check of mutating actions."""
        checked = super().check(call)
        if isinstance(checked, Refusal):
            return checked
        spec = self.specs[checked.action]
        reason = refusal(checked.action, spec, ground(self.request, spec, checked.args))
        if reason is None:
            return checked
        return Refusal(call, "invalid_arguments",
                       f"error: {reason}. Only the user can supply it.")
