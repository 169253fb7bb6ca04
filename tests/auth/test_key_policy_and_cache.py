"""A key's own policy (limits, budget, models) on its token row, and the verification cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aios.auth import KeyPolicy, Role, TokenStore, UserStore
from aios.auth.keys import parse_models
from aios.errors import AuthenticationError, ConfigError
from aios.store import Store


@pytest.mark.parametrize(("fields", "says"), [
    ({"rpm": 0}, "--rpm must be a whole number of at least 1"),
    ({"rpm": True}, "--rpm must be a whole number"),
    ({"rpm": 2.5}, "--rpm must be a whole number"),
    ({"tpm": -1}, "--tpm must be a whole number"),
    ({"budget_usd": -0.01}, "--budget-usd must be a finite amount of at least 0"),
    ({"budget_usd": float("nan")}, "--budget-usd must be a finite amount"),
    ({"budget_usd": float("inf")}, "--budget-usd must be a finite amount"),
    ({"budget_usd": "5"}, "--budget-usd must be a finite amount"),
    ({"budget_usd": 1.0, "budget_period": "week"}, "--budget-period must be one of"),
    ({"models": ()}, "--models is empty"),
])
def test_a_bad_policy_is_refused_naming_the_option(fields: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says.replace("-", r"\-")):
        KeyPolicy(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "says"), [
    ("a,,b", "empty name"), (",a", "empty name"), ("a b", "contains a space"),
    ("a,b,a", "names a more than once")])
def test_bad_model_lists_are_refused(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_models(text)


def test_model_lists() -> None:
    assert parse_models(None) is None and parse_models("  ") is None
    assert parse_models(" gpt-4o , simple,auto") == ("gpt-4o", "simple", "auto")
    policy = KeyPolicy(models=("gpt-4o", "auto"))
    assert policy.allows("auto") and not policy.allows("cheap")
    assert KeyPolicy().allows("anything") and KeyPolicy().budget is None
    assert KeyPolicy(budget_usd=2, budget_period="day").budget is not None


async def test_the_policy_is_stored_on_the_token_row(store: Store) -> None:
    await UserStore(store).add("alice", Role.viewer)
    repo = TokenStore(store)
    policy = KeyPolicy(rpm=5, tpm=900, budget_usd=1.5, budget_period="month",
                       models=("cheap", "auto"))
    issued = await repo.issue("alice", policy=policy)
    assert issued.info.policy == policy
    _, info = await repo.verify(issued.secret)
    assert info.policy == policy and info.id == issued.info.id
    plain = await repo.issue("alice")
    assert (await repo.list())[0].policy == KeyPolicy()
    assert (await repo.verify(plain.secret))[1].policy == KeyPolicy()


async def test_the_cache_bounds_how_late_a_revocation_elsewhere_applies(store: Store) -> None:
    with pytest.raises(ConfigError, match="AIOS_KEY_CACHE_SECONDS"):
        TokenStore(store, cache_s=-1)
    await UserStore(store).add("alice", Role.viewer)
    server = TokenStore(store, cache_s=3600)  # remembers for an hour
    elsewhere = TokenStore(store)  # the CLI, another process
    issued = await server.issue("alice", expires_in=600)
    assert (await server.authenticate(issued.secret)).name == "alice"
    await elsewhere.revoke(issued.info.id)
    # within the cache's lifetime the server still accepts it ...
    assert (await server.authenticate(issued.secret)).name == "alice"
    # ... without a cache it is refused at once
    with pytest.raises(AuthenticationError, match="revoked"):
        await TokenStore(store).authenticate(issued.secret)
    # expiry is checked on every use, cached or not
    with pytest.raises(AuthenticationError, match="expired"):
        await server.authenticate(issued.secret, now=datetime.now(UTC) + timedelta(hours=1))
    # a revocation through the same store applies at once
    other = await server.issue("alice")
    assert (await server.authenticate(other.secret)).name == "alice"
    await server.revoke(other.info.id)
    with pytest.raises(AuthenticationError, match="revoked"):
        await server.authenticate(other.secret)


async def test_the_cache_expires_and_unknown_tokens_are_not_cached(store: Store) -> None:
    await UserStore(store).add("alice", Role.viewer)
    server = TokenStore(store, cache_s=0.05, cache_size=2)
    issued = await server.issue("alice")
    await server.authenticate(issued.secret)
    await TokenStore(store).revoke(issued.info.id)
    import asyncio

    await asyncio.sleep(0.1)  # past the cache's lifetime: looked up again
    with pytest.raises(AuthenticationError, match="revoked"):
        await server.authenticate(issued.secret)
    for _ in range(2):
        with pytest.raises(AuthenticationError, match="not known"):
            await server.authenticate("aios_0000_nope")
    assert len(server._cache) == 0
    keys = [await server.issue("alice") for _ in range(3)]
    for key in keys:
        await server.authenticate(key.secret)
    assert len(server._cache) == 2  # bounded: the oldest went


async def test_a_user_changed_through_the_same_store_is_not_served_from_the_cache(
        store: Store) -> None:
    await UserStore(store).add("alice", Role.approver)
    server = TokenStore(store, cache_s=3600)
    issued = await server.issue("alice")
    assert (await server.authenticate(issued.secret)).role is Role.approver
    await server.users.update("alice", role=Role.viewer)
    assert (await server.authenticate(issued.secret)).role is Role.viewer
    await server.users.update("alice", disabled=True)
    with pytest.raises(AuthenticationError, match="disabled"):
        await server.authenticate(issued.secret)
    await server.users.update("alice", disabled=False)
    await server.authenticate(issued.secret)
    await server.users.delete("alice")
    with pytest.raises(AuthenticationError, match="not known"):
        await server.authenticate(issued.secret)
