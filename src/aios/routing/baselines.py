"""Routing baselines beyond the fixed ones: the best a policy that knows only each prompt's
task could do (`per_task_mix`), against which `aios router train` reports the router."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["per_task_mix"]


def per_task_mix(correct: np.ndarray, cost: np.ndarray, tasks: Sequence[str],
                 cap: float) -> tuple[float, float]:
    """The best any policy that routes by task alone can do, in hindsight.

    Such a policy sends a fixed share of each task's prompts to each model, knowing nothing
    about the prompt beyond its task. The best shares, given the rows' outcomes and a mean
    spend per prompt of at most `cap`, are a small linear programme. A router that does no
    better than this has learnt which model suits each task and nothing about single
    prompts.

    Returns:
        (accuracy, mean cost per prompt) of the best such mix on these rows.
    """
    # Imported here: scipy.optimize takes 0.2 s to import, and every `aios` command imports
    # this module (through the router's command group).
    from scipy.optimize import linprog

    names = sorted(set(tasks))
    index = np.array([names.index(t) for t in tasks])
    share = np.bincount(index, minlength=len(names)) / len(tasks)
    n_models = correct.shape[1]
    # Variable (task t, model m) is the share of task t's prompts sent to model m.
    gain = np.concatenate([share[t] * correct[index == t].mean(axis=0)
                           for t in range(len(names))])
    spend = np.concatenate([share[t] * cost[index == t].mean(axis=0)
                            for t in range(len(names))])
    one_each = np.kron(np.eye(len(names)), np.ones(n_models))
    result = linprog(-gain, A_ub=spend[None, :], b_ub=[cap], A_eq=one_each,
                     b_eq=np.ones(len(names)), bounds=(0.0, 1.0), method="highs")
    if not result.success:  # the cap is below even the cheapest model of every task
        cheapest = np.concatenate([np.eye(n_models)[cost[index == t].mean(axis=0).argmin()]
                                   for t in range(len(names))])
        return float(gain @ cheapest), float(spend @ cheapest)
    return float(gain @ result.x), float(spend @ result.x)
