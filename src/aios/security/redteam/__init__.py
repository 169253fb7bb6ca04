"""The red-team suite: an attack catalogue (YAML), targets, deterministic checks, an optional
LLM judge, and reports.

Importing this package registers the built-in targets (`callable`, `model`, `http`, `agent`).
"""

from aios.security.redteam.agent_target import (
    PROTOCOL,
    ActionRun,
    AgentTarget,
    agent_runtime,
    is_forbidden,
    parse_agent_spec,
)
from aios.security.redteam.catalog import (
    Attack,
    CheckSpec,
    Severity,
    builtin_catalog_dir,
    load_catalog,
)
from aios.security.redteam.checks import CHECKS, Outcome, Planted, register_check
from aios.security.redteam.judge import JudgeVerdict, LLMJudge, parse_verdict
from aios.security.redteam.report import exit_code, render_html, summarize, to_json
from aios.security.redteam.runner import DEFAULT_SYSTEM, AttackResult, plant, run_attack, run_suite
from aios.security.redteam.targets import (
    TARGETS,
    ActionRequest,
    CallableTarget,
    Completer,
    HttpTarget,
    ModelTarget,
    Reply,
    SharedAnswers,
    Target,
    as_chat,
    parse_actions,
    parse_requests,
    register_target,
    resolve_target,
    target_needs,
)

__all__ = [
    "CHECKS",
    "DEFAULT_SYSTEM",
    "PROTOCOL",
    "TARGETS",
    "ActionRequest",
    "ActionRun",
    "AgentTarget",
    "Attack",
    "AttackResult",
    "CallableTarget",
    "CheckSpec",
    "Completer",
    "HttpTarget",
    "JudgeVerdict",
    "LLMJudge",
    "ModelTarget",
    "Outcome",
    "Planted",
    "Reply",
    "Severity",
    "SharedAnswers",
    "Target",
    "agent_runtime",
    "as_chat",
    "builtin_catalog_dir",
    "exit_code",
    "is_forbidden",
    "load_catalog",
    "parse_actions",
    "parse_agent_spec",
    "parse_requests",
    "parse_verdict",
    "plant",
    "register_check",
    "register_target",
    "render_html",
    "resolve_target",
    "run_attack",
    "run_suite",
    "summarize",
    "target_needs",
    "to_json",
]
