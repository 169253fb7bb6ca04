"""Schemathesis against the OpenAPI document, in-process over ASGI, as an admin: generated
requests (valid and invalid) never get a 5xx answer nor one that breaks the documented
schema.

Left out: the event stream (it never ends, so every example would wait out the read timeout;
tests/server/test_server_events.py covers it) and starting red-team runs (the default target
is the packaged local model, minutes of CPU per run; test_server_insights.py covers them).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from server_helpers import add_people, bearer, write_manifest

from aios.evaluation import Harness, load_suite
from aios.server import create_app
from aios.settings import Settings
from aios.store import Store

#: Examples per operation: about 40 operations, so the whole run stays near a minute.
EXAMPLES = 25


def _seed(settings: Settings, directory: Path) -> None:
    """An evaluation run, so the eval routes also answer with real data."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data.jsonl").write_text('{"id": "s1", "input": "a", "target": "a"}\n'
                                          '{"id": "s2", "input": "b", "target": "c"}\n')
    (directory / "target.py").write_text("def answer(sample):\n    return sample.input_text\n")
    (directory / "suite.yaml").write_text(
        "name: echo\ndataset: data.jsonl\ntarget: {type: callable, ref: 'target.py:answer', "
        "pass_sample: true}\nevaluators: [exact_match]\n")

    async def go() -> None:
        store = await Store.open(settings.store_url())
        try:
            await Harness(store).run(load_suite(directory / "suite.yaml"))
        finally:
            await store.close()

    asyncio.run(go())


# The document is read at collection (Schemathesis parametrizes from it), so the app exists
# then; its store and users come with the first test, and the directory goes at exit.
_ROOT = tempfile.TemporaryDirectory(prefix="aios-schemathesis-")
_SETTINGS = Settings(home=Path(_ROOT.name) / "home", database_url=None)
APP = create_app(_SETTINGS, manifest=write_manifest(Path(_ROOT.name) / "work"),
                 resume_interval=0.2, expiry_interval=0)
schema = (schemathesis.openapi.from_dict(APP.openapi())
          .exclude(path="/api/events").exclude(path="/api/redteam/runs", method="POST"))


@pytest.fixture(scope="module")
def admin_token() -> str:
    tokens = add_people(_SETTINGS)
    _seed(_SETTINGS, Path(_ROOT.name) / "eval")
    return tokens["ada"]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_no_schema_violation(case: Any, admin_token: str) -> None:
    case.call_and_validate(app=APP, headers=bearer(admin_token),
                           checks=[not_a_server_error, response_schema_conformance])
