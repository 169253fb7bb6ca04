"""Cross-checks of model-driven agents: their `tools:` and `model:` must name something real."""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase

from aios.errors import Issue
from aios.llm.config import TIERS, default_models
from aios.manifest.schema import Manifest

__all__ = ["agent_issues"]

#: Builds an issue from a message and a location (file and line filled in by the loader).
IssueAt = Callable[[str, tuple[str | int, ...]], Issue]


def agent_issues(manifest: Manifest, issue: IssueAt) -> list[Issue]:
    """Every `tools:` entry that matches no action and every `model:` that names nothing."""
    issues: list[Issue] = []
    names = manifest.action_names()
    models = sorted(manifest.models or default_models())
    for agent_name, agent in manifest.agents.items():
        for index, pattern in enumerate(agent.tools or []):
            if not any(fnmatchcase(name, pattern) for name in names):
                issues.append(issue(
                    f"tool {pattern!r} matches no declared action; write `agent.key` or a glob "
                    f"such as `{agent_name}.*` (declared: {', '.join(names[:8]) or 'none'}"
                    f"{', ...' if len(names) > 8 else ''})",
                    ("agents", agent_name, "tools", index)))
        if agent.model is not None and agent.model != "auto" and agent.model not in TIERS \
                and agent.model not in models:
            issues.append(issue(
                f"model {agent.model!r} is neither a model under `models:` "
                f"({', '.join(models)}), a tier ({', '.join(TIERS)}) nor `auto`",
                ("agents", agent_name, "model")))
    return issues
