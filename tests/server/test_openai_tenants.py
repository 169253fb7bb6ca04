"""Keys with a tenant, and keys changed after they are made (`aios keys update`).

Bad input to `aios keys update` first; then the official `openai` client against Uvicorn on
loopback: two tenants' keys of one user, a tenant budget spent by one tenant only, the
response cache kept apart per tenant, `aios metrics --json` by tenant; a key changed through
the server's API applies at once, one changed from the CLI within AIOS_KEY_CACHE_SECONDS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from openai_helpers import MANIFEST, serve, write_manifest
from server_helpers import add_people, wait_for
from tests.support import Reply, ScriptedLLMServer
from typer.testing import CliRunner

from aios.cli.main import app as cli
from aios.settings import Settings

HI = [{"role": "user", "content": "hi"}]

#: acme may spend $0.008 a month: one call of 1,000 + 500 tokens on gpt-4o ($0.0075) leaves
#: too little for the next.
TENANT_BUDGETS = """\
  tenants:
    acme: {{usd: 0.008, period: month}}
"""


def aios(settings: Settings, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"AIOS_HOME": str(settings.home),
                                                    "COLUMNS": "200"})


def create_key(settings: Settings, user: str, *options: str) -> dict[str, Any]:
    result = aios(settings, "keys", "create", user, *options, "--json")
    assert result.exit_code == 0, result.output
    created: dict[str, Any] = json.loads(result.stdout)
    return created


def list_keys(settings: Settings) -> dict[str, dict[str, Any]]:
    result = aios(settings, "keys", "list", "--json")
    assert result.exit_code == 0, result.output
    return {k["id"]: k for k in json.loads(result.stdout)}


def metrics_by(settings: Settings, dim: str) -> dict[str, dict[str, Any]]:
    result = aios(settings, "metrics", "--json")
    assert result.exit_code == 0, result.output
    return {g["key"]: g for g in json.loads(result.stdout)["by"][dim]}


def tenant_manifest(directory: Path, upstream: str) -> Path:
    path = write_manifest(directory, upstream)
    text = MANIFEST.format(upstream=upstream).replace(
        "budgets:\n", "budgets:\n" + TENANT_BUDGETS.format())
    path.write_text(text)
    return path


# -- bad input -------------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", database_url=None)
    add_people(settings)
    return settings


@pytest.mark.parametrize("tenant", ["", "acme corp", "acme/eu", "x" * 201])
def test_a_bad_tenant_is_refused(home: Settings, tenant: str) -> None:
    before = list_keys(home)
    result = aios(home, "keys", "create", "alice", "--tenant", tenant)
    assert result.exit_code != 0
    assert "--tenant must be a name of 1 to 200 characters" in " ".join(result.output.split())
    assert list_keys(home) == before


@pytest.mark.parametrize(("options", "says"), [
    (["--rpm", "-1"], "--rpm must be a whole number of at least 1"),
    (["--tpm", "0"], "--tpm must be a whole number of at least 1"),
    (["--rpm", "many"], "--rpm must be a whole number or 'none'"),
    (["--budget-usd", "-2"], "--budget-usd must be a finite amount of at least 0"),
    (["--budget-usd", "nan"], "--budget-usd must be a finite amount"),
    (["--budget-period", "week"], "--budget-period must be one of total"),
    (["--models", "cheap,,auto"], "has an empty name"),
    (["--tenant", "a b"], "--tenant must be a name"),
    (["--expires", "soon"], "--expires"),
    ([], "nothing to change"),
])
def test_bad_updates_are_refused_and_change_nothing(home: Settings, options: list[str],
                                                    says: str) -> None:
    key = create_key(home, "alice", "--rpm", "5", "--tenant", "acme")
    before = list_keys(home)
    result = aios(home, "keys", "update", key["id"], *options)
    assert result.exit_code != 0
    assert says in " ".join(result.output.split()), result.output
    assert list_keys(home) == before


def test_unknown_and_revoked_keys_and_unknown_models_are_refused(home: Settings,
                                                                 tmp_path: Path) -> None:
    gone = aios(home, "keys", "update", "0123456789ab", "--rpm", "5")
    assert gone.exit_code != 0 and "no key with id '0123456789ab'" in gone.output
    key = create_key(home, "alice")
    period = aios(home, "keys", "update", key["id"], "--budget-period", "day")
    assert period.exit_code != 0 and "needs a budget" in " ".join(period.output.split())
    manifest = write_manifest(tmp_path / "work", "http://127.0.0.1:9")
    unknown = aios(home, "--manifest", str(manifest), "keys", "update", key["id"],
                   "--models", "cheap,gpt-9")
    assert unknown.exit_code != 0 and "gpt-9" in unknown.output
    assert list_keys(home)[key["id"]]["models"] is None
    assert aios(home, "keys", "revoke", key["id"]).exit_code == 0
    revoked = aios(home, "keys", "update", key["id"], "--rpm", "5")
    assert revoked.exit_code != 0
    assert "was revoked" in revoked.output and "cannot be changed" in revoked.output
    assert list_keys(home)[key["id"]]["rpm"] is None


def test_update_changes_only_what_it_is_given_and_none_removes(home: Settings) -> None:
    key = create_key(home, "alice", "--rpm", "5", "--tpm", "900", "--budget-usd", "2",
                     "--budget-period", "day", "--models", "cheap,auto", "--tenant", "acme")
    table = aios(home, "keys", "list")
    assert table.exit_code == 0 and "tenant" in table.output and "acme" in table.output
    result = aios(home, "keys", "update", key["id"], "--rpm", "7", "--tenant", "globex",
                  "--json")
    assert result.exit_code == 0, result.output
    changed = json.loads(result.stdout)
    assert (changed["before"]["rpm"], changed["after"]["rpm"]) == (5, 7)
    after = list_keys(home)[key["id"]]
    assert (after["rpm"], after["tpm"], after["budget_usd"], after["budget_period"],
            after["models"], after["tenant"]) == (7, 900, 2.0, "day", ["cheap", "auto"],
                                                  "globex")
    cleared = aios(home, "keys", "update", key["id"], "--tpm", "none", "--budget-usd", "none",
                   "--models", "none", "--tenant", "none", "--expires", "30d")
    assert cleared.exit_code == 0, cleared.output
    assert "tenant globex -> None" in cleared.output
    after = list_keys(home)[key["id"]]
    assert (after["rpm"], after["tpm"], after["budget_usd"], after["budget_period"],
            after["models"], after["tenant"]) == (7, None, None, None, None, None)
    assert after["expires_at"] is not None and after["state"] == "active"


# -- the endpoint, live ----------------------------------------------------------------------


class Live:
    def __init__(self, url: str, upstream: ScriptedLLMServer, settings: Settings,
                 people: dict[str, str]):
        self.url = url
        self.upstream = upstream
        self.settings = settings
        self.people = people

    def key(self, user: str, *options: str) -> dict[str, Any]:
        return create_key(self.settings, user, *options)

    def client(self, key: dict[str, Any]) -> OpenAI:
        return OpenAI(base_url=self.url + "/v1", api_key=key["key"], max_retries=0)

    def post(self, key: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
        return httpx.post(self.url + "/v1/chat/completions", json=body, timeout=30,
                          headers={"Authorization": f"Bearer {key['key']}"})

    def patch(self, key_id: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.patch(f"{self.url}/api/tokens/{key_id}", json=body, timeout=30,
                           headers={"Authorization": f"Bearer {self.people['ada']}"})


def _live(base: Path, cache_s: float) -> Iterator[Live]:
    settings = Settings(home=base / "home", database_url=None, key_cache_seconds=cache_s)
    with pytest.MonkeyPatch.context() as patch, ScriptedLLMServer() as upstream:
        patch.setenv("TEST_OPENAI_KEY", "sk-upstream")
        people = add_people(settings)
        with serve(settings, tenant_manifest(base / "work", upstream.url)) as url:
            yield Live(url, upstream, settings, people)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server that remembers keys for 1 s (changes from the CLI reach it within that)."""
    yield from _live(tmp_path_factory.mktemp("tenants"), 1)


@pytest.fixture(scope="module")
def sticky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server that remembers keys for an hour: only its own API's changes reach it soon."""
    yield from _live(tmp_path_factory.mktemp("sticky"), 3600)


def test_two_tenants_keys_budgets_cache_and_metrics(live: Live) -> None:
    acme = live.key("alice", "--tenant", "acme")
    globex = live.key("alice", "--tenant", "globex")
    acme_too = live.key("alice", "--tenant", "acme", "--name", "acme's second app")
    assert (acme["tenant"], list_keys(live.settings)[globex["id"]]["tenant"]) == \
        ("acme", "globex")
    question = [{"role": "user", "content": "what is the capital of France?"}]
    live.upstream.script(Reply.ok("Paris, for acme", usage=(1000, 500)),
                         Reply.ok("Paris, for globex", usage=(1000, 500)))
    first = live.client(acme).chat.completions.create(model="gpt-4o", messages=question,  # type: ignore[arg-type]
                                                      max_tokens=100)
    assert first.choices[0].message.content == "Paris, for acme"
    # the same user and question for another tenant: not answered from acme's cache
    other = live.client(globex).chat.completions.create(model="gpt-4o", messages=question,  # type: ignore[arg-type]
                                                        max_tokens=100)
    assert other.choices[0].message.content == "Paris, for globex"
    assert live.upstream.pending == 0
    # another key of the same tenant and user shares its cache namespace `acme/alice`
    before = len(live.upstream.requests)
    again = live.client(acme_too).chat.completions.create(model="gpt-4o", messages=question,  # type: ignore[arg-type]
                                                          max_tokens=100)
    assert again.choices[0].message.content == "Paris, for acme"
    assert len(live.upstream.requests) == before

    # acme has spent $0.0075 of its $0.008: its next call is refused, with either key
    fresh = [{"role": "user", "content": "and of Spain?"}]
    for key in (acme, acme_too):
        with pytest.raises(openai.RateLimitError) as raised:
            live.client(key).chat.completions.create(model="gpt-4o", messages=fresh,  # type: ignore[arg-type]
                                                     max_tokens=100)
        body = raised.value.body
        assert isinstance(body, dict) and body["code"] == "insufficient_quota"
        assert "tenant budget of acme this month" in body["message"]
        assert "budgets.tenants.acme" in body["message"]
    assert len(live.upstream.requests) == before, "a refused call reached the upstream"
    # globex, with the same user, is not limited by acme's budget
    live.upstream.script(Reply.ok("Madrid", usage=(1000, 500)))
    assert live.client(globex).chat.completions.create(
        model="gpt-4o", messages=fresh, max_tokens=100,  # type: ignore[arg-type]
    ).choices[0].message.content == "Madrid"

    by_tenant = wait_for(lambda: (m := metrics_by(live.settings, "tenant")).get(
        "globex", {}).get("llm_calls") == 2 and m, what="the calls by tenant")
    assert by_tenant["acme"]["llm_calls"] == 2  # one answered upstream, one from its cache
    assert by_tenant["acme"]["cost_usd"] == pytest.approx(0.0075)
    assert by_tenant["globex"]["cost_usd"] == pytest.approx(0.015)
    table = aios(live.settings, "metrics")
    assert "by tenant" in table.output and "globex" in table.output


def test_a_change_from_the_cli_applies_within_the_key_cache(live: Live) -> None:
    key = live.key("alice")  # no requests-per-minute limit: every probe below is answered
    live.upstream.script(Reply.ok("any model"))
    assert live.post(key, {"model": "gpt-4o", "messages": HI}).status_code == 200
    changed = aios(live.settings, "keys", "update", key["id"], "--models", "cheap")
    assert changed.exit_code == 0, changed.output
    # the server let the cached key go within its 1 s: the new policy refuses gpt-4o
    refused = wait_for(lambda: (r := live.post(key, {"model": "gpt-4o", "messages": HI}))
                       .status_code == 403 and r, what="the key's new models")
    assert refused.json()["error"]["code"] == "model_not_allowed"


def test_a_change_through_the_servers_api_applies_at_once(sticky: Live) -> None:
    key = sticky.key("alice", "--models", "cheap", "--rpm", "1")
    sticky.upstream.script(Reply.ok("cheap answer"), Reply.ok("now gpt-4o"))
    assert sticky.post(key, {"model": "cheap", "messages": HI}).status_code == 200
    assert sticky.post(key, {"model": "cheap", "messages": HI}).status_code == 429
    assert sticky.post(key, {"model": "gpt-4o", "messages": HI}).status_code in (403, 429)
    refused = sticky.patch(key["id"], {"rpm": -3})
    assert refused.status_code == 400 and "--rpm must be a whole number" in refused.text
    unknown = sticky.patch(key["id"], {"models": ["cheap", "gpt-9"]})
    assert unknown.status_code == 400 and "gpt-9" in unknown.text
    assert sticky.patch("0123456789ab", {"rpm": 5}).status_code == 404
    changed = sticky.patch(key["id"], {"models": None, "rpm": 100, "tenant": "acme"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["policy"] == {"rpm": 100, "tpm": None, "budget_usd": None,
                                        "budget_period": None, "models": None,
                                        "tenant": "acme"}
    # the server remembers keys for an hour, yet its own change applies to the next request
    answered = sticky.client(key).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "something new"}],  # type: ignore[arg-type]
        max_tokens=10)
    assert answered.choices[0].message.content == "now gpt-4o"
    by_tenant = wait_for(lambda: metrics_by(sticky.settings, "tenant").get("acme"),
                         what="the call charged to acme")
    assert by_tenant["llm_calls"] == 1
    # revoked keys cannot be changed
    assert httpx.delete(f"{sticky.url}/api/tokens/{key['id']}", timeout=30, headers={
        "Authorization": f"Bearer {sticky.people['ada']}"}).status_code == 200
    gone = sticky.patch(key["id"], {"rpm": 5})
    assert gone.status_code == 409 and "revoked" in gone.text
    # only admins change keys
    assert httpx.patch(f"{sticky.url}/api/tokens/{key['id']}", json={"rpm": 5}, timeout=30,
                       headers={"Authorization": f"Bearer {sticky.people['vic']}"}
                       ).status_code == 403
