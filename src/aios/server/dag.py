"""The action DAG of a run: its steps, what each waits for, and each step's latest state."""

from __future__ import annotations

from dataclasses import dataclass

from aios.manifest.loader import manifest_digest
from aios.manifest.schema import Manifest
from aios.manifest.schema import Sequence as SequenceSpec
from aios.store.runs import RunRecord

__all__ = ["DagNode", "run_dag", "sequence_dag"]


@dataclass(frozen=True)
class DagNode:
    """One step: its id, action, the step ids it depends on, and its state."""

    id: str
    action: str
    depends_on: tuple[str, ...]
    status: str = "pending"
    critical: bool = True


def sequence_dag(spec: SequenceSpec, statuses: dict[str, str] | None = None) -> list[DagNode]:
    """The nodes of a declared sequence, in declaration order."""
    deps = spec.dependencies()
    statuses = statuses or {}
    return [DagNode(step.step_id, step.action, tuple(deps[step.step_id]),
                    statuses.get(step.step_id, "pending"), step.critical)
            for step in spec.steps]


def run_dag(manifest: Manifest, record: RunRecord, *, digest: str | None = None
            ) -> list[DagNode]:
    """The DAG of `record`: its sequence's, when the run used this manifest (`digest`, computed
    when not given); else its recorded steps as a chain (the order they first changed state)."""
    statuses = {s.step_id: s.status for s in record.steps}
    spec = manifest.sequences.get(record.target) if record.kind == "sequence" else None
    if spec is not None and record.manifest_digest == (digest or manifest_digest(manifest)):
        return sequence_dag(spec, statuses)
    if record.kind == "action" and not record.steps:
        return [DagNode(record.target, record.target, (), "pending")]
    nodes: list[DagNode] = []
    for i, step in enumerate(record.steps):
        before = (record.steps[i - 1].step_id,) if i else ()
        nodes.append(DagNode(step.step_id, step.action, before, step.status))
    return nodes
