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


# -- bodies that are not JSON a strict parser accepts ---------------------------------------
# Schemathesis generates valid JSON only; these are what a hostile or broken client sends:
# non-finite numbers (Python's parser reads them), numbers out of range, lone surrogates,
# integers past Python's 4,300-digit limit. Each goes into every property of every JSON body
# the document declares, and as the whole body.

BAD_VALUES = {
    "nan": "NaN", "infinity": "Infinity", "minus-infinity": "-Infinity", "1e400": "1e400",
    "lone-surrogate": '"\\ud800"', "surrogate-in-key": None,
    "huge-int": "1" + "0" * 5000, "huge-float-int": "1" + "0" * 400 + ".0",
}


def _bodies(props: list[str]) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for name, raw in BAD_VALUES.items():
        if raw is None:
            out.append((name, b'{"\\udc00x": 1}'))
            continue
        out.append((f"{name} as the body", raw.encode()))
        out.append((f"{name} in a list", f"[{raw}]".encode()))
        fields = props or ["x"]
        out.append((f"{name} in {','.join(fields)}",
                    ("{" + ", ".join(f'"{p}": {raw}' for p in fields) + "}").encode()))
    return out


def _json_operations() -> list[tuple[str, str, list[str]]]:
    document = APP.openapi()
    components = document.get("components", {}).get("schemas", {})
    found: list[tuple[str, str, list[str]]] = []
    for path, methods in document["paths"].items():
        if path == "/api/events":
            continue
        for method, op in methods.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            ref = content["application/json"].get("schema", {}).get("$ref", "")
            props = list(components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))
            concrete = path.replace("{name}", "ada").replace("{run_id}", "0" * 32)
            for part in ("{request_id}", "{token_id}", "{report_id}", "{id}"):
                concrete = concrete.replace(part, "0" * 12)
            found.append((method.upper(), concrete, props))
    return found


def test_malformed_json_bodies_get_a_4xx_in_the_error_format(admin_token: str) -> None:
    from fastapi.testclient import TestClient

    operations = _json_operations()
    assert len(operations) >= 8  # the document declares JSON bodies
    failures: list[str] = []
    with TestClient(APP, raise_server_exceptions=False) as client:
        for method, path, props in operations:
            for what, body in _bodies(props):
                response = client.request(method, path, content=body, headers={
                    **bearer(admin_token), "Content-Type": "application/json"})
                try:
                    detail = response.json().get("detail")
                except ValueError:
                    detail = None
                if not 400 <= response.status_code < 500 or not detail:
                    failures.append(f"{method} {path} ({what}): {response.status_code} "
                                    f"{response.text[:120]}")
    assert not failures, "\n".join(failures[:20]) + f"\n({len(failures)} in all)"


@pytest.mark.parametrize("expires", ["1e300", "1" + "0" * 400, "99999999999999999999d",
                                     '"1e308s"', "1.7976931348623157e308"])
def test_huge_token_lifetimes_are_refused(admin_token: str, expires: str) -> None:
    from fastapi.testclient import TestClient

    with TestClient(APP, raise_server_exceptions=False) as client:
        for path, body in (
                ("/api/auth/token", '{"name": "ada", "password": "ada-pw", "expires": %s}'),
                ("/api/users/alice/tokens", '{"expires": %s}')):
            value = expires if expires.startswith(("1", '"')) else f'"{expires}"'
            response = client.post(path, content=(body % value).encode(), headers={
                **bearer(admin_token), "Content-Type": "application/json"})
            assert 400 <= response.status_code < 500, (path, expires, response.text)
            assert response.json()["detail"]
