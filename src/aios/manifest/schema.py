"""The manifest as frozen pydantic models: plain data, validated, never holding run state."""

from __future__ import annotations

import re
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aios.approvals.policy import ApprovalPolicy
from aios.llm.config import BudgetLimit, BudgetsConfig, ModelSpec
from aios.manifest.endpoint import EndpointSpec
from aios.mcp.config import McpServerSpec
from aios.reliability.policy import ReliabilityPolicy
from aios.routing.spec import RoutingSpec
from aios.security.policy import GuardrailPolicy

__all__ = [
    "AUTONOMY_LEVELS",
    "Action",
    "Agent",
    "Criticality",
    "Manifest",
    "Sequence",
    "Step",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Criticality(StrEnum):
    """How much harm an action can do; drives confirmation and approval."""

    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for critical, for comparisons."""
        return ["low", "medium", "high", "critical"].index(self.value)


class Action(_Frozen):
    """One thing an agent can do."""

    description: str = Field("", description="What the action does, in one sentence.")
    handler: str = Field(
        description=(
            "Either `package.module:function` or the name of a built-in handler "
            "(for example `kernel.processes`)."
        )
    )
    criticality: Criticality = Field(
        Criticality.low, description="low | medium | high | critical."
    )
    mutates: bool = Field(
        False, description="True if the action changes anything; forensic mode never runs it."
    )
    timeout: float | None = Field(
        30.0, gt=0, description="Seconds before the handler is cancelled; null for no limit."
    )
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="JSON Schema of the arguments (an object schema); checked before each run.",
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Default arguments, overridden by a step's `with`."
    )
    preview: str | None = Field(
        None, description="A handler run in forensic mode with the same arguments before an "
        "approval is requested; its output is shown with the request and bound into it."
    )
    keep_arguments: bool = Field(
        True, description="When the run record masks secrets or personal data in this "
        "action's arguments (`aios exec`), keep the real values encrypted with AIOS_ARGS_KEY "
        "so a run of it that stops (waiting for approval, interrupted) can resume; false: "
        "never keep them (no key needed; such a run cannot resume and is started again)."
    )
    reliability: ReliabilityPolicy | None = Field(
        None, description="Retry, circuit breaker, per-attempt timeout, fallback and "
        "concurrency limit of this action; null: the manifest's `reliability:` entry that "
        "matches it, if any."
    )


#: What each autonomy level lets an agent's model do without asking (docs and README).
AUTONOMY_LEVELS: dict[int, str] = {
    0: "suggest only: every tool call needs an approval, read-only ones too",
    1: "reads freely: every mutating call needs an approval",
    2: "low-risk changes: mutating calls of medium criticality or above need an approval",
    3: "routine changes: mutating calls of high or critical criticality need an approval",
    4: "as the approval policy says (`approvals:`)",
}


class Agent(_Frozen):
    """A named group of actions; with `instructions` or `tools` also a model-driven agent."""

    description: str = Field("", description="What the agent is responsible for.")
    actions: dict[str, Action] = Field(
        default_factory=dict, description="Actions by key; the full name is `agent.key`."
    )
    model: str | None = Field(
        None, description="The model that decides in `aios agent run`: a name from "
        "`models:`, a tier (simple | medium | complex), or `auto` (the router chooses); "
        "null: the gateway's default. It must support tools (capabilities.tools).")
    instructions: str = Field(
        "", description="The system prompt of `aios agent run`: the agent's role and rules.")
    tools: list[str] | None = Field(
        None, description="Actions the model may call, each `agent.key` or a glob "
        "(`storage.*`, `*.read_*`); null: this agent's own actions. Every entry must match "
        "at least one declared action.")
    max_turns: int = Field(
        10, ge=1, le=200, description="Model turns one run may take before it ends with "
        "`max_turns`.")
    tool_choice: list[str] = Field(
        default_factory=list, description="What the model must do in each turn, in order "
        "(the first entry for the first turn ...): `auto` (call tools or answer), `required` "
        "(call a tool), `none` (answer now), or one of its tools (an action key: call that "
        "one); turns after the list are `auto`. Sent as the API's `tool_choice` (a grammar "
        "with `tool_grammar`): for a small model that cannot plan, the plan is written here "
        "and the model only fills in the arguments and the answer.")
    autonomy: int = Field(
        4, ge=0, le=4, description="What the model may do without asking; it only ever "
        "raises the approval policy's gate: 0 suggest only (every call needs an approval), "
        "1 reads freely (every mutating call needs one), 2 low-risk changes (mutating calls "
        "of medium criticality or above), 3 routine changes (mutating high/critical calls), "
        "4 as the approval policy says.")
    budget: BudgetLimit | None = Field(
        None, description="Tokens and/or USD the model turns of one agent run may spend; "
        "the run ends with `budget` when the next turn would pass it.")

    @field_validator("actions")
    @classmethod
    def _action_names(cls, value: dict[str, Action]) -> dict[str, Action]:
        for key in value:
            if not _NAME.match(key):
                raise ValueError(
                    f"action key {key!r} must be lower-case letters, digits and underscores"
                )
        return value


class Step(_Frozen):
    """One step of a sequence."""

    action: str = Field(description="The action to run, as `agent.key`.")
    id: str | None = Field(
        None, description="Step id for `depends_on`; defaults to the action name."
    )
    depends_on: list[str] | None = Field(
        None,
        description=(
            "Step ids that must finish first. If any step of a sequence sets it, the sequence "
            "is a DAG (steps without it are roots); otherwise the steps run in list order."
        ),
    )
    critical: bool = Field(
        True,
        description="A critical step's failure stops the sequence; a non-critical one is recorded.",
    )
    with_: dict[str, Any] = Field(
        default_factory=dict, alias="with", description="Arguments for this step."
    )

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @property
    def step_id(self) -> str:
        """The id other steps use in `depends_on`."""
        return self.id or self.action


class Sequence(_Frozen):
    """A named workflow: an ordered list of steps, or a DAG through `depends_on`."""

    description: str = Field("", description="What the sequence is for.")
    steps: list[Step] = Field(description="The steps, in order.")

    @property
    def is_dag(self) -> bool:
        """True when any step declares `depends_on`."""
        return any(step.depends_on is not None for step in self.steps)

    def dependencies(self) -> dict[str, list[str]]:
        """Step id -> ids it waits for (list order becomes a chain when not a DAG)."""
        if self.is_dag:
            return {s.step_id: list(s.depends_on or []) for s in self.steps}
        deps: dict[str, list[str]] = {}
        previous: str | None = None
        for step in self.steps:
            deps[step.step_id] = [previous] if previous else []
            previous = step.step_id
        return deps


class Manifest(_Frozen):
    """Everything Ai:oS needs to know about a deployment's agents."""

    version: Literal[1] = Field(1, description="Manifest format version; only 1 exists.")
    name: str = Field("aios", description="Name of this deployment.")
    description: str = Field("", description="What this manifest is for.")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Environment values handed to every action (`ctx.env`); --env overrides.",
    )
    agents: dict[str, Agent] = Field(default_factory=dict, description="Agents by name.")
    sequences: dict[str, Sequence] = Field(
        default_factory=dict, description="Sequences by name (`boot`, `shutdown`, ...)."
    )
    models: dict[str, ModelSpec] = Field(
        default_factory=dict, description="LLMs the gateway may call, by name: provider, model "
        "id, tier, endpoint, key variable, capabilities, prices. Empty: the packaged local "
        "model serves every tier."
    )
    budgets: BudgetsConfig = Field(
        default_factory=BudgetsConfig, description="Token and USD budgets per run, agent, "
        "tenant and user, checked before every LLM call."
    )
    approvals: ApprovalPolicy = Field(
        default_factory=ApprovalPolicy,
        description="Human approval of actions: by criticality, ordered rules, approver "
        "groups, deadlines and escalation (defaults: low auto, medium notify, high one "
        "approval, critical two distinct approvers).",
    )
    reliability: dict[str, ReliabilityPolicy] = Field(
        default_factory=dict, description="Reliability policies keyed by model name (from "
        "`models:`) or action glob (`kernel.*`, `*`); an action's own `reliability:` wins, then "
        "an exact name, then the most specific glob."
    )
    guardrails: GuardrailPolicy = Field(
        default_factory=GuardrailPolicy, description="Runtime guardrails: prompt injection in "
        "inputs, tool output and prompts (block | flag | approve | off), PII and secrets in "
        "outputs and completions (redact | block | allow), pseudonymisation, per-agent overrides."
    )
    routing: RoutingSpec = Field(
        default_factory=RoutingSpec, description="Model routing for requests that name no "
        "model (policy, complexity classifier) and the response cache (TTL, size, semantic "
        "threshold per tenant namespace)."
    )
    endpoint: EndpointSpec = Field(
        default_factory=EndpointSpec, description="The OpenAI-compatible endpoint of `aios "
        "serve`: requests per minute of each API key (a default, per-user overrides)."
    )
    mcp_servers: dict[str, McpServerSpec] = Field(
        default_factory=dict, description="Upstream MCP servers by name (a stdio `command` "
        "or a streamable HTTP `url`); each tool becomes the action `name.tool`, gated like "
        "any other (criticality and `mutates` from the tool's annotations, overridable "
        "under `tools:`)."
    )

    @field_validator("agents")
    @classmethod
    def _agent_names(cls, value: dict[str, Agent]) -> dict[str, Agent]:
        for key in value:
            if not _NAME.match(key):
                raise ValueError(
                    f"agent name {key!r} must be lower-case letters, digits and underscores"
                )
        return value

    @field_validator("mcp_servers")
    @classmethod
    def _mcp_server_names(cls, value: dict[str, McpServerSpec]) -> dict[str, McpServerSpec]:
        for key in value:
            if not _NAME.match(key):
                raise ValueError(
                    f"MCP server name {key!r} must be lower-case letters, digits and "
                    "underscores (its tools become actions `name.tool`)")
        return value

    @model_validator(mode="after")
    def _mcp_servers_are_not_agents(self) -> Manifest:
        clash = sorted(set(self.mcp_servers) & set(self.agents))
        if clash:
            raise ValueError(f"mcp_servers {', '.join(clash)}: an agent has the same name; "
                             "rename the server (its tools become actions `name.tool`)")
        return self

    def action(self, name: str) -> Action:
        """The action called `agent.key`; KeyError if there is none."""
        agent, _, key = name.partition(".")
        return self.agents[agent].actions[key]

    def action_names(self) -> list[str]:
        """Every `agent.key` this manifest declares."""
        return [f"{a}.{k}" for a, agent in self.agents.items() for k in agent.actions]

    def agent_tools(self, agent: str) -> list[str]:
        """The actions agent `agent`'s model may call (its `tools:`, else its own actions).

        Raises:
            KeyError: no such agent.
        """
        spec = self.agents[agent]
        if spec.tools is None:
            return [f"{agent}.{key}" for key in spec.actions]
        names = self.action_names()
        chosen: list[str] = []
        for pattern in spec.tools:
            chosen += [n for n in names if fnmatchcase(n, pattern) and n not in chosen]
        return chosen
