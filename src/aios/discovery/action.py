"""The built-in action `discovery.explore`: run a discovery mission from a sequence.

Arguments (the action's `params` and the step's `with`):

- `mission` (required): the question; `sources` (required): a list such as
  `["corpus:docs/", "model"]`;
- `budget`: `{steps, tokens, usd, seconds}`; `autonomy` (0-4, default 4); `graph`: a graph
  name to extend; `extractors`, `planner`, and any other `Mission` field;
- `store_url`: where missions are checkpointed (default: the store `Settings` name,
  `AIOS_DATABASE_URL` or `$AIOS_HOME/aios.db`).

The mission id is derived from the run and step ids, so when the runtime re-executes a
step that suspended for an approval it resumes the same mission; that re-execution means
the approval layer let the step through, so the pending request counts as granted. The
gateway is `ctx.llm`; an embedder, when the context carries one (`ctx.embeddings`), is
used for retrieval and entity merging, else retrieval is BM25 only.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aios.errors import ConfigError, NotFoundError
from aios.runtime.context import ActionContext
from aios.runtime.handlers import handler
from aios.settings import Settings
from aios.store.engine import Store

__all__ = ["explore", "mission_id_for"]


def mission_id_for(run_id: str, step_id: str) -> str:
    """The mission id of a step of a run (stable across resumes)."""
    return hashlib.sha1(f"{run_id}\x1f{step_id}".encode()).hexdigest()[:12]


@handler("discovery.explore")
async def explore(ctx: ActionContext) -> dict[str, Any]:
    """Run (or resume) the mission the step describes; return its summary.

    Raises:
        ConfigError: the arguments do not make a valid mission.
        ActionSuspended: a step needs approval at the mission's autonomy level.
    """
    try:
        # Imported here: the built-in handler list must load without the `discovery` extra.
        from aios.discovery.agent import DiscoveryAgent
        from aios.discovery.mission import build_mission
        from aios.discovery.store import DiscoveryStore
    except ImportError as exc:
        raise ConfigError(f"{ctx.action} needs the discovery extra ({exc.name} is missing): "
                          "pip install 'aios[discovery]'") from exc
    args = dict(ctx.args)
    store_url = args.pop("store_url", None) or Settings().store_url()
    question = args.pop("mission", None)
    if not question:
        raise ConfigError(f"{ctx.action}: the argument `mission` (the question) is required")
    sources = args.pop("sources", None)
    if isinstance(sources, str):
        sources = [sources]
    mission = build_mission(question=question, sources=sources, **args)
    mission_id = mission_id_for(ctx.run_id, ctx.step_id)
    store = await Store.open(store_url)
    try:
        agent = DiscoveryAgent(DiscoveryStore(store), llm=ctx.llm,
                               embedder=getattr(ctx, "embeddings", None))
        try:
            await DiscoveryStore(store).get(mission_id)
        except NotFoundError:
            result = await agent.start(mission, mission_id=mission_id)
        else:
            result = await agent.resume(mission_id, budget=mission.budget, grant_pending=True)
    finally:
        await store.close()
    summary = result.to_json()
    ctx.publish_metadata("discovery", summary)
    return summary
