"""The red-team suite: an attack catalogue (YAML), targets, deterministic checks, reports."""

from aios.security.redteam.catalog import Attack, CheckSpec, Severity, builtin_catalog_dir, load_catalog
from aios.security.redteam.checks import CHECKS, Outcome, Planted, register_check
from aios.security.redteam.report import exit_code, render_html, summarize, to_json
from aios.security.redteam.runner import DEFAULT_SYSTEM, AttackResult, plant, run_attack, run_suite
from aios.security.redteam.targets import (
    TARGETS,
    CallableTarget,
    HttpTarget,
    ModelTarget,
    Reply,
    Target,
    parse_actions,
    register_target,
    resolve_target,
)

__all__ = [
    "CHECKS",
    "DEFAULT_SYSTEM",
    "TARGETS",
    "Attack",
    "AttackResult",
    "CallableTarget",
    "CheckSpec",
    "HttpTarget",
    "ModelTarget",
    "Outcome",
    "Planted",
    "Reply",
    "Severity",
    "Target",
    "builtin_catalog_dir",
    "exit_code",
    "load_catalog",
    "parse_actions",
    "plant",
    "register_check",
    "register_target",
    "render_html",
    "resolve_target",
    "run_attack",
    "run_suite",
    "summarize",
    "to_json",
]
