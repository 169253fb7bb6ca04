"""Fixtures for approvals: a service on each real store, users of each role, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from approval_helpers import Clock

from aios.approvals import ApprovalService
from aios.auth import Role, TokenStore, User, UserStore
from aios.store import Store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def service(store: Store, clock: Clock) -> AsyncIterator[ApprovalService]:
    yield ApprovalService(store, clock=clock, poll_initial=0.005, poll_max=0.02)


@pytest.fixture
async def people(store: Store) -> dict[str, User]:
    """alice, bob, carol: approvers; vic: viewer; ada: admin."""
    repo = UserStore(store)
    roles = {"alice": Role.approver, "bob": Role.approver, "carol": Role.approver,
             "vic": Role.viewer, "ada": Role.admin}
    return {name: await repo.add(name, role) for name, role in roles.items()}


@pytest.fixture
async def tokens(store: Store, people: dict[str, User]) -> dict[str, str]:
    """A token per person."""
    repo = TokenStore(store)
    return {name: (await repo.issue(name, expires_in=3600)).secret for name in people}
