"""Chat identities: which Ai:oS user a Slack user is (`aios users link-slack alice U123`).

A button clicked in Slack decides as the linked Ai:oS user, under the same rules as the
dashboard (role, approver group, separation of duties, distinct approvers); a Slack user who
is not linked cannot decide anything.
"""

from __future__ import annotations

import re

from sqlalchemy import Table, delete, insert, select

from aios.auth.users import User, UserStore
from aios.errors import ConfigError
from aios.store import columns as col
from aios.store.engine import Store
from aios.store.runs import utcnow
from aios.store.tables import metadata

__all__ = ["SlackUsers", "slack_users"]

slack_users = Table(
    "slack_users",
    metadata,
    col.string("slack_id", 32, primary_key=True),
    col.string("user_name", 100),
    col.timestamp("created_at"),
)

_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


class SlackUsers:
    """Links between Slack user ids and Ai:oS users."""

    def __init__(self, store: Store):
        self.store = store

    async def link(self, name: str, slack_id: str) -> User:
        """Link Slack user `slack_id` to the Ai:oS user `name` (replacing an earlier link).

        Raises:
            NotFoundError: no such Ai:oS user.
            ConfigError: not a Slack user id.
        """
        if not _SLACK_ID.match(slack_id):
            raise ConfigError(f"{slack_id!r} is not a Slack user id (U or W followed by "
                              "letters and digits, for example U0123ABCD; Slack shows it "
                              "under the profile's 'Copy member ID')")
        user = await UserStore(self.store).get(name)
        async with self.store.engine.begin() as conn:
            await conn.execute(delete(slack_users).where(slack_users.c.slack_id == slack_id))
            await conn.execute(insert(slack_users).values(slack_id=slack_id, user_name=name,
                                                          created_at=utcnow()))
        return user

    async def user_of(self, slack_id: str) -> User | None:
        """The Ai:oS user linked to `slack_id`, or None."""
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(slack_users.c.user_name).where(
                slack_users.c.slack_id == slack_id))).first()
        if row is None:
            return None
        return await UserStore(self.store).get(str(row[0]))
