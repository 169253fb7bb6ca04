"""Query parameters shared by several routers, parsed into what the library takes."""

from __future__ import annotations

from datetime import datetime

from aios.errors import ConfigError
from aios.observability.window import parse_since

__all__ = ["since_param"]


def since_param(text: str | None, *, name: str = "since") -> datetime | None:
    """The start of a window (`30m`, `24h`, `7d`, a date/time), or None when not given.

    Raises:
        ConfigError: not a window, in the future, or so far back that no date can hold it.
    """
    if text is None:
        return None
    try:
        return parse_since(text, option=name)
    except OverflowError:
        raise ConfigError(f"{name} {text!r} reaches before the year 1; give a shorter "
                          "duration such as 30d") from None
