"""Time windows as users write them: `30m`, `1h`, `7d`, `2w`, or a date/time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from aios.errors import ConfigError

__all__ = ["parse_duration", "parse_since", "to_ns"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_FORMS = ("a duration such as 30m, 1h, 7d or 2w (units s, m, h, d, w), or a date/time "
          "such as 2026-11-01 or 2026-11-01T08:30 (UTC unless it names a zone)")


def parse_duration(text: str, *, option: str = "--older-than") -> timedelta:
    """`"30d"` -> 30 days.

    Raises:
        ConfigError: `text` is not a positive duration; the message lists the accepted forms.
    """
    match = _DURATION.match(text or "")
    if match is None or float(match.group(1)) <= 0:
        raise ConfigError(f"{option} {text!r} is not a duration; use a number and a unit, "
                          "such as 30m, 12h, 30d or 2w (units s, m, h, d, w)")
    return timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})


def parse_since(text: str, *, now: datetime | None = None,
                option: str = "--since") -> datetime:
    """The start of a window: `"1h"` -> one hour ago; `"2026-11-01"` -> that midnight, UTC.

    Raises:
        ConfigError: `text` is neither form; the message lists the accepted forms.
    """
    now = now or datetime.now(UTC)
    if _DURATION.match(text or ""):
        try:
            return now - parse_duration(text, option=option)
        except OverflowError:  # "99999999w" reaches before year 1
            raise ConfigError(f"{option} {text!r} reaches too far back; use {_FORMS}") from None
    try:
        moment = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ConfigError(f"{option} {text!r} is not a time window; use {_FORMS}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now:
        raise ConfigError(f"{option} {text!r} is in the future; use {_FORMS}")
    return moment


def to_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, the unit of span times."""
    return int(moment.timestamp() * 1_000_000) * 1000
