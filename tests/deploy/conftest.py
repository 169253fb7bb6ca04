"""A local Ray instance for the executor tests: 2 worker CPUs, loopback only, no dashboard."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Read by Ray when it is imported: no usage reporting, and a single-machine instance that
# binds to the loopback address (127.0.0.1) rather than the machine's network address.
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
# The instance listens on loopback only, so the token files Ray would write under ~/.ray are
# not needed.
os.environ["RAY_AUTH_MODE"] = "disabled"

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[dict[str, float]]:
    """A Ray instance started (and stopped) around a test module, with 2 worker CPUs.

    Workers import the test handlers (`tests.deploy.ray_handlers`) by name, so the
    repository root goes on their PYTHONPATH.
    """
    import ray

    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), previous) if p)
    try:
        ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
                 log_to_driver=False, object_store_memory=256 * 2**20)
        yield ray.cluster_resources()
    finally:
        ray.shutdown()
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous
