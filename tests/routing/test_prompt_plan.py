"""Which agent's loop plans `aios prompt`: `--agent`, the only model-driven agent, or the one
whose tools cover the matched actions; several candidates are an error naming them."""

from __future__ import annotations

import pytest

from aios.errors import ConfigError, NotFoundError
from aios.manifest.schema import Manifest
from aios.routing.intent import ClauseMatch, IntentPlan
from aios.routing.prompt import choose_agent, model_driven

ACTION = {"handler": "x"}


def manifest(**agents: dict[str, object]) -> Manifest:
    return Manifest.model_validate({"agents": agents})


def plan(*actions: str) -> IntentPlan:
    return IntentPlan("req", tuple(ClauseMatch(a, a, 0.9, "low", False, ()) for a in actions))


def test_no_model_driven_agent_means_the_matcher() -> None:
    m = manifest(disks={"actions": {"usage": ACTION}})
    assert model_driven(m) == [] and choose_agent(m, None, None) is None


def test_the_only_model_driven_agent_plans_and_agent_wins() -> None:
    m = manifest(disks={"actions": {"usage": ACTION}},
                 ops={"instructions": "Keep disks free.", "tools": ["disks.*"]})
    assert choose_agent(m, None, None) == "ops"
    assert choose_agent(m, None, "disks") == "disks"
    with pytest.raises(NotFoundError, match="known: disks, ops"):
        choose_agent(m, None, "nobody")


def test_of_several_the_one_whose_tools_cover_the_request_else_an_error() -> None:
    m = manifest(disks={"model": "auto", "actions": {"usage": ACTION, "clean": ACTION}},
                 net={"model": "auto", "actions": {"ping": ACTION}})
    assert choose_agent(m, plan("disks.usage", "disks.clean"), None) == "disks"
    with pytest.raises(ConfigError, match=r"several model-driven agents.*--agent"):
        choose_agent(m, plan("disks.usage", "net.ping"), None)
