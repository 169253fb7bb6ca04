"""`Registry[T]`: things of one kind (providers, evaluators, executors ...) by name.

Every extension point of Ai:oS is a registry: built-in entries and a user's register the same
way, with a decorator, and the manifest or a setting names them. One type keeps their rules
the same: `names()` is sorted, an unknown name raises a `ConfigError` (the name came from
configuration) that lists the known ones and suggests the closest, and what a second
registration of a name does is a parameter (`duplicates`), not an accident of each copy::

    EXPORTERS: Registry[Exporter] = Registry("export format")

    @EXPORTERS.register("json")
    def to_json(graph): ...

    EXPORTERS.get("jsn")  # ConfigError: unknown export format 'jsn'; known: json;
                          #   did you mean 'json'?
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, Literal, TypeVar

from aios.errors import AiosError, ConfigError

__all__ = ["Duplicates", "Registry"]

T = TypeVar("T")
E = TypeVar("E")

#: What registering a taken name does: `replace` (the last registration wins: a user may
#: override a built-in) or `error` (a ConfigError naming the holder; registering the same
#: object again is allowed, so re-importing a module is harmless).
Duplicates = Literal["replace", "error"]


class Registry(Generic[T]):
    """Entries of one kind by name: `register` / `add` them, `get` one (raising on an unknown
    name, unlike `dict.get`), `names()`; iterating, `in`, `len` and `[name]` read it as a
    mapping.

    Args:
        kind: what an entry is, for messages (`LLM provider`, `evaluator`).
        duplicates: what registering a taken name does (see `Duplicates`).
        known: how the message of an unknown name introduces the known names.
        error: the exception an unknown name raises.
        name_attr: an attribute set to the name on each registered entry (a class's `name`),
            or None.
    """

    def __init__(self, kind: str, *, duplicates: Duplicates = "replace", known: str = "known",
                 error: type[AiosError] = ConfigError, name_attr: str | None = None):
        self.kind = kind
        self.duplicates = duplicates
        self.known = known
        self.error = error
        self.name_attr = name_attr
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[E], E]:
        """A decorator that adds the decorated object under `name` and returns it unchanged."""

        def add(entry: E) -> E:
            self.add(name, entry)  # type: ignore[arg-type]  # E is the decorated T
            return entry

        return add

    def add(self, name: str, entry: T) -> None:
        """Add `entry` under `name`.

        Raises:
            ConfigError: `duplicates="error"` and another entry holds the name.
        """
        existing = self._entries.get(name)
        if self.duplicates == "error" and existing is not None and existing is not entry:
            raise ConfigError(f"{self.kind} name {name!r} is already registered by "
                              f"{_qualname(existing)}")
        if self.name_attr is not None:
            setattr(entry, self.name_attr, name)
        self._entries[name] = entry

    def get(self, name: str) -> T:
        """The entry registered as `name`.

        Raises:
            ConfigError (or the registry's `error`): no such entry; the message lists the
                known names and suggests the closest one.
        """
        try:
            return self._entries[name]
        except KeyError:
            raise self.error(self.unknown(name)) from None

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def unknown(self, name: str) -> str:
        """The message for an unknown `name`: the known names, then the closest one."""
        names = self.names()
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(names) or "(none)"
        return f"unknown {self.kind} {name!r}; {self.known}: {listed}{hint}"

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def _qualname(entry: object) -> str:
    target = entry if isinstance(entry, type) or callable(entry) else type(entry)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', target)}"
