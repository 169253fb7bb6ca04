"""`aios keys`: API keys with their own limits, budget and models, enforced by the endpoint.

Bad input to `aios keys` first; then the whole path a user sees: keys made with the CLI, the
official `openai` client against Uvicorn on loopback, the scripted upstream (a priced gpt-4o),
and the spend read back with `aios keys list` and `aios metrics --json`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from openai_helpers import redis_settings, serve, write_manifest
from server_helpers import add_people, login, wait_for
from tests.support import Reply, ScriptedLLMServer
from typer.testing import CliRunner

from aios.auth import TokenStore
from aios.cli.main import app as cli
from aios.settings import Settings
from aios.store import Store

HI = [{"role": "user", "content": "hi"}]


def aios(settings: Settings, *args: str) -> Any:
    """Run `aios ARGS` on the store of `settings`; the result."""
    return CliRunner().invoke(cli, list(args), env={"AIOS_HOME": str(settings.home),
                                                    "COLUMNS": "200"})


def create_key(settings: Settings, user: str, *options: str) -> dict[str, Any]:
    """`aios keys create USER OPTIONS --json`: the new key's record (with its secret)."""
    result = aios(settings, "keys", "create", user, *options, "--json")
    assert result.exit_code == 0, result.output
    created: dict[str, Any] = json.loads(result.stdout)
    return created


def list_keys(settings: Settings) -> dict[str, dict[str, Any]]:
    result = aios(settings, "keys", "list", "--json")
    assert result.exit_code == 0, result.output
    return {k["id"]: k for k in json.loads(result.stdout)}


def metrics_by_key(settings: Settings) -> dict[str, dict[str, Any]]:
    result = aios(settings, "metrics", "--json")
    assert result.exit_code == 0, result.output
    return {g["key"]: g for g in json.loads(result.stdout)["by"]["key"]}


# -- bad input to `aios keys` ----------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", database_url=None)
    add_people(settings)
    return settings


@pytest.mark.parametrize(("options", "says"), [
    (["--rpm", "0"], "--rpm must be a whole number of at least 1"),
    (["--tpm", "-5"], "--tpm must be a whole number of at least 1"),
    (["--budget-usd", "-1"], "--budget-usd must be a finite amount of at least 0"),
    (["--budget-usd", "nan"], "--budget-usd must be a finite amount"),
    (["--budget-usd", "inf"], "--budget-usd must be a finite amount"),
    (["--budget-usd", "5", "--budget-period", "week"], "--budget-period must be one of total"),
    (["--models", "cheap,,auto"], "has an empty name"),
    (["--models", "cheap, my model"], "contains a space"),
    (["--models", "cheap,cheap"], "names cheap more than once"),
    (["--expires", "soon"], "--expires"),
])
def test_bad_options_are_refused_and_no_key_is_made(home: Settings, options: list[str],
                                                     says: str) -> None:
    before = list_keys(home)
    result = aios(home, "keys", "create", "alice", *options)
    assert result.exit_code != 0
    assert says in " ".join(result.output.split()), result.output
    assert "aios_" not in result.output
    assert list_keys(home) == before


def test_an_unknown_user_and_an_unknown_key_are_refused(home: Settings) -> None:
    missing = aios(home, "keys", "create", "nobody", "--rpm", "5")
    assert missing.exit_code != 0 and "nobody" in missing.output
    gone = aios(home, "keys", "revoke", "0123456789ab")
    assert gone.exit_code != 0 and "0123456789ab" in gone.output


def test_models_are_checked_against_the_manifest_when_one_is_given(home: Settings,
                                                                   tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "work", "http://127.0.0.1:9")
    result = aios(home, "--manifest", str(manifest), "keys", "create", "alice",
                  "--models", "cheap,gpt-9")
    assert result.exit_code != 0
    assert "gpt-9" in result.output and "cheap" in result.output  # the known ones listed
    ok = aios(home, "--manifest", str(manifest), "keys", "create", "alice",
              "--models", "cheap,simple,auto", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["models"] == ["cheap", "simple", "auto"]


def test_create_prints_the_key_once_and_list_never_shows_it(home: Settings) -> None:
    made = create_key(home, "alice", "--name", "ci bot", "--rpm", "60", "--tpm", "9000",
                      "--budget-usd", "2.5", "--budget-period", "day", "--models",
                      "cheap,auto", "--expires", "30d")
    secret = made["key"]
    assert secret.startswith(f"aios_{made['id']}_")
    assert (made["rpm"], made["tpm"], made["budget_usd"], made["budget_period"],
            made["models"]) == (60, 9000, 2.5, "day", ["cheap", "auto"])
    assert made["expires_at"] is not None and made["state"] == "active"
    listed = aios(home, "keys", "list", "--json")
    table = aios(home, "keys", "list")
    assert secret not in listed.output and secret not in table.output
    key = json.loads(listed.stdout)[0]
    assert "key" not in key and key["name"] == "ci bot"
    assert (key["calls"], key["spent_usd"], key["budget_used_usd"]) == (0, 0.0, 0.0)
    assert made["id"] in table.output and "60 rpm" in table.output
    plain = aios(home, "keys", "create", "bob")
    assert plain.exit_code == 0 and plain.stdout.strip().startswith("aios_")
    # `aios users token` keeps working: its token is a key without limits of its own
    token = aios(home, "users", "token", "vic", "--json")
    assert token.exit_code == 0, token.output
    vic = list_keys(home)[json.loads(token.stdout)["id"]]
    assert (vic["rpm"], vic["tpm"], vic["budget_usd"], vic["models"]) == (None,) * 4
    revoked = aios(home, "keys", "revoke", made["id"], "--json")
    assert revoked.exit_code == 0 and json.loads(revoked.stdout)["state"] == "revoked"
    assert list_keys(home)[made["id"]]["state"] == "revoked"


# -- the endpoint enforces the keys ------------------------------------------------------------


class Live:
    def __init__(self, url: str, upstream: ScriptedLLMServer, settings: Settings):
        self.url = url
        self.upstream = upstream
        self.settings = settings

    def key(self, user: str, *options: str) -> dict[str, Any]:
        return create_key(self.settings, user, *options)

    def client(self, key: dict[str, Any]) -> OpenAI:
        return OpenAI(base_url=self.url + "/v1", api_key=key["key"], max_retries=0)

    def post(self, key: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
        return httpx.post(self.url + "/v1/chat/completions", json=body, timeout=30,
                          headers={"Authorization": f"Bearer {key['key']}"})


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("keys")
    settings = Settings(home=base / "home", database_url=None, key_cache_seconds=1)
    with pytest.MonkeyPatch.context() as patch, ScriptedLLMServer() as upstream:
        patch.setenv("TEST_OPENAI_KEY", "sk-upstream")
        add_people(settings)
        asyncio.run(_add(settings, "tim"))
        with serve(settings, write_manifest(base / "work", upstream.url)) as url:
            yield Live(url, upstream, settings)


async def _add(settings: Settings, name: str) -> None:
    from aios.auth import Role, UserStore

    store = await Store.open(settings.store_url())
    try:
        await UserStore(store).add(name, Role.viewer)
    finally:
        await store.close()


def test_a_model_the_key_may_not_use_is_refused_naming_the_allowed_ones(live: Live) -> None:
    key = live.key("alice", "--models", "cheap,simple")
    before = len(live.upstream.requests)
    for model in ("gpt-4o", "auto"):
        refused = live.post(key, {"model": model, "messages": HI})
        assert refused.status_code == 403, refused.text
        error = refused.json()["error"]
        assert error["code"] == "model_not_allowed" and error["param"] == "model"
        assert "cheap, simple" in error["message"] and repr(model) in error["message"]
    with pytest.raises(openai.PermissionDeniedError):
        live.client(key).chat.completions.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
    assert len(live.upstream.requests) == before, "a refused request reached the upstream"
    # an unknown model is still "not found", whatever the key allows
    assert live.post(key, {"model": "gpt-9", "messages": HI}).status_code == 404
    live.upstream.script(Reply.ok("from cheap"), Reply.ok("from the simple tier"))
    assert live.client(key).chat.completions.create(
        model="cheap", messages=[{"role": "user", "content": "by name"}],
    ).choices[0].message.content == "from cheap"
    assert live.client(key).chat.completions.create(
        model="simple", messages=[{"role": "user", "content": "by tier"}],
    ).choices[0].message.content == "from the simple tier"
    assert [m.id for m in live.client(key).models.list()] == ["cheap"]


def test_revoked_and_expired_keys_are_401(live: Live) -> None:
    key = live.key("alice")
    live.upstream.script(Reply.ok("still valid"))
    assert live.post(key, {"model": "gpt-4o", "messages": HI}).status_code == 200
    assert aios(live.settings, "keys", "revoke", key["id"]).exit_code == 0
    # revoked from another process: refused once the server's key cache has let it go
    # (AIOS_KEY_CACHE_SECONDS, 1 s here)
    refused = wait_for(lambda: (r := live.post(key, {"model": "gpt-4o", "messages": HI}))
                       .status_code == 401 and r, what="the revoked key refused")
    assert "revoked" in refused.json()["error"]["message"]

    async def expired() -> str:
        store = await Store.open(live.settings.store_url())
        try:
            issued = await TokenStore(store).issue(
                "alice", expires_in=60, now=datetime.now(UTC) - timedelta(hours=1))
            return issued.secret
        finally:
            await store.close()

    old = live.post({"key": asyncio.run(expired())}, {"model": "gpt-4o", "messages": HI})
    assert old.status_code == 401 and "expired" in old.json()["error"]["message"]
    with pytest.raises(openai.AuthenticationError):
        live.client(key).models.list()


def test_a_keys_own_rpm_replaces_its_users_manifest_value(live: Live) -> None:
    # bob's manifest value is 2 a minute; this key of his may make 3
    key = live.key("bob", "--rpm", "3")
    assert [live.post(key, {"model": "gpt-4o", "messages": HI}).status_code
            for _ in range(3)] == [200, 200, 200]
    over = live.post(key, {"model": "gpt-4o", "messages": HI})
    assert over.status_code == 429 and 1 <= int(over.headers["retry-after"]) <= 60
    error = over.json()["error"]
    assert error["code"] == "rate_limit_exceeded"
    assert "3 requests per minute" in error["message"] and "the key's own" in error["message"]
    # alice has no manifest limit; a key of hers with one is limited
    once = live.key("alice", "--rpm", "1")
    assert live.post(once, {"model": "gpt-4o", "messages": HI}).status_code == 200
    with pytest.raises(openai.RateLimitError):
        live.client(once).chat.completions.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]


def test_a_keys_own_tpm_replaces_its_users_manifest_value(live: Live) -> None:
    # tim's manifest value is 30 tokens a minute: one call of 1,500 would spend it
    key = live.key("tim", "--tpm", "2000")
    live.upstream.script(Reply.ok("a", usage=(1000, 500)), Reply.ok("b", usage=(1000, 500)))
    for question in ("first", "second"):  # two prompts: the response cache answers neither
        assert live.post(key, {"model": "gpt-4o", "messages": [
            {"role": "user", "content": question}]}).status_code == 200
    assert live.upstream.pending == 0
    over = live.post(key, {"model": "gpt-4o", "messages": HI})
    assert over.status_code == 429 and int(over.headers["retry-after"]) >= 1
    assert "2000 tokens per minute" in over.json()["error"]["message"]


def test_the_whole_path_budget_spend_and_attribution(live: Live) -> None:
    """openai client -> Uvicorn -> gateway -> scripted upstream; then `aios keys list` and
    `aios metrics --json` show the key's spend, and its budget refuses the next call."""
    key = live.key("ada", "--name", "budgeted", "--budget-usd", "0.008")
    live.upstream.script(Reply.ok("first answer", usage=(1000, 500)))
    answer = live.client(key).chat.completions.create(
        model="gpt-4o", messages=HI, max_tokens=100)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "first answer"
    cost = (answer.model_extra or {})["aios"]["cost_usd"]
    assert cost == pytest.approx(0.0075)  # 1,000 x $2.50/M + 500 x $10/M

    before = len(live.upstream.requests)
    again = [{"role": "user", "content": "and another question"}]  # not a cache hit
    with pytest.raises(openai.RateLimitError) as raised:
        live.client(key).chat.completions.create(model="gpt-4o", messages=again, max_tokens=100)  # type: ignore[arg-type]
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["type"] == "insufficient_quota" and body["code"] == "insufficient_quota"
    message = body["message"]
    assert f"budget of API key {key['id']}" in message and "would be exceeded by $" in message
    assert "limit $0.008000" in message and "used $0.007500" in message
    assert "aios keys create" in message
    streamed = live.post(key, {"model": "gpt-4o", "messages": again, "max_tokens": 100,
                               "stream": True})
    assert streamed.status_code == 429
    assert streamed.json()["error"]["type"] == "insufficient_quota"
    assert len(live.upstream.requests) == before, "a refused call reached the upstream"

    listed = wait_for(lambda: list_keys(live.settings)[key["id"]]["calls"] == 1
                      and list_keys(live.settings)[key["id"]], what="the key's spend")
    assert listed["spent_usd"] == pytest.approx(cost)
    assert listed["budget_used_usd"] == pytest.approx(cost)
    assert listed["tokens"] == 1500
    by_key = metrics_by_key(live.settings)[key["id"]]
    assert by_key["llm_calls"] == 1 and by_key["cost_usd"] == pytest.approx(cost)
    table = aios(live.settings, "keys", "list")
    assert "$0.0075 of $0.01" in table.output


def test_streamed_calls_are_attributed_to_the_key(live: Live) -> None:
    key = live.key("alice", "--budget-usd", "1", "--budget-period", "day")
    live.upstream.script(Reply.stream(("Hel", "lo"), usage=(100, 50)))
    stream = live.client(key).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "stream it"}], stream=True,
        max_tokens=100, stream_options={"include_usage": True})
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello"
    listed = wait_for(lambda: list_keys(live.settings)[key["id"]]["calls"] == 1
                      and list_keys(live.settings)[key["id"]], what="the streamed call")
    expected = 100 * 2.5e-6 + 50 * 10e-6
    assert listed["spent_usd"] == pytest.approx(expected)
    assert listed["budget_used_usd"] == pytest.approx(expected)  # today's window
    assert metrics_by_key(live.settings)[key["id"]]["cost_usd"] == pytest.approx(expected)


def test_a_keys_rpm_is_shared_through_redis(tmp_path: Path) -> None:
    with redis_settings(tmp_path) as (settings, probe, prefix), \
            pytest.MonkeyPatch.context() as patch, ScriptedLLMServer() as upstream:
        patch.setenv("TEST_OPENAI_KEY", "sk-upstream")
        add_people(settings)
        key = create_key(settings, "alice", "--rpm", "1")
        with serve(settings, write_manifest(tmp_path / "work", upstream.url)) as url:
            def post() -> httpx.Response:
                return httpx.post(url + "/v1/chat/completions", timeout=30,
                                  headers={"Authorization": f"Bearer {key['key']}"},
                                  json={"model": "gpt-4o", "messages": HI})

            assert post().status_code == 200
            over = post()
            assert over.status_code == 429 and int(over.headers["retry-after"]) >= 1
            assert "1 requests per minute" in over.json()["error"]["message"]
            assert [k for k in probe.scan_iter(f"{prefix}:*") if key["id"].encode() in k]


# -- the dashboard -----------------------------------------------------------------------------


def test_the_keys_page_shows_calls_and_spend_per_key(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from aios.server import create_app

    settings = Settings(home=tmp_path / "home", database_url=None)
    with pytest.MonkeyPatch.context() as patch, ScriptedLLMServer() as upstream:
        patch.setenv("TEST_OPENAI_KEY", "sk-upstream")
        add_people(settings)
        alices = create_key(settings, "alice", "--name", "alice's bot", "--budget-usd", "3")
        bobs = create_key(settings, "bob", "--name", "bob's bot")
        app = create_app(settings, manifest=write_manifest(tmp_path / "work", upstream.url),
                         resume_interval=0, expiry_interval=0, watch_interval=0)
        with TestClient(app) as client:
            upstream.script(Reply.ok("x", usage=(1000, 500)))
            answered = client.post("/v1/chat/completions",
                                   json={"model": "gpt-4o", "messages": HI},
                                   headers={"Authorization": f"Bearer {alices['key']}"})
            assert answered.status_code == 200, answered.text

            login(client, "ada")  # an admin sees every key
            page = client.get("/keys")
            assert page.status_code == 200
            row = page.text.split(f'id="key-{alices["id"]}"')[1].split("</tr>")[0]
            assert "alice&#39;s bot" in row and "$0.0075" in row and "of $3.00" in row
            assert '<td class="num">1</td>' in row and '<td class="num">1500</td>' in row
            assert f'id="key-{bobs["id"]}"' in page.text
            assert alices["key"] not in page.text
            assert 'href="/keys"' in page.text

            login(client, "bob")  # anyone else sees their own
            own = client.get("/keys")
            assert own.status_code == 200
            assert f'id="key-{bobs["id"]}"' in own.text
            assert f'id="key-{alices["id"]}"' not in own.text

            client.cookies.clear()
            assert client.get("/keys", follow_redirects=False).status_code in (302, 303, 401)
