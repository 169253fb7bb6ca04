"""Handlers: marking them with a name, and resolving a manifest's `handler:` string to one."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, TypeVar

from aios.errors import NotFoundError
from aios.registry import Registry
from aios.runtime.handler_lookup import check_statically

__all__ = ["BUILTIN_MODULES", "HandlerRegistry", "handler"]

F = TypeVar("F", bound=Callable[..., Any])

#: Modules whose `@handler` functions are the built-in handlers, importable by name.
BUILTIN_MODULES = (
    "aios.agents.kernel",
    "aios.agents.security",
    "aios.agents.networking",
    "aios.agents.storage",
    "aios.agents.application",
    "aios.agents.user",
    "aios.agents.scalability",
    "aios.agents.orchestration",
    "aios.discovery.action",
)

_MARK = "__aios_handler__"


def handler(name: str) -> Callable[[F], F]:
    """Mark a function as a handler that manifests can name (`handler: name`).

    The function receives an `ActionContext` and may be sync (run in a worker thread) or
    async. Marking records the name on the function; a `HandlerRegistry` collects it.

    Example:
        >>> @handler("demo.hello")
        ... async def hello(ctx):
        ...     return {"greeting": f"hello {ctx.args.get('who', 'world')}"}
    """

    def mark(fn: F) -> F:
        setattr(fn, _MARK, name)
        return fn

    return mark


class HandlerRegistry:
    """Handlers by name, plus resolution of `module:function` references."""

    def __init__(self) -> None:
        self._by_name: Registry[Callable[..., Any]] = Registry(
            "handler", known="built-ins (or name a `module:function`)", error=NotFoundError)

    @classmethod
    def builtin(cls, extra: Iterable[Callable[..., Any]] = ()) -> HandlerRegistry:
        """A registry with the built-in meta-agent handlers and any `extra` marked functions."""
        registry = cls()
        for module_name in BUILTIN_MODULES:
            registry.add_module(importlib.import_module(module_name))
        for fn in extra:
            registry.add(fn)
        return registry

    def add_module(self, module: ModuleType) -> None:
        """Register every `@handler` function of `module`."""
        for _, obj in inspect.getmembers(module, callable):
            if getattr(obj, _MARK, None) and obj.__module__ == module.__name__:
                self.add(obj)

    def add(self, fn: Callable[..., Any], name: str | None = None) -> None:
        """Register `fn` under `name` (default: the name given to `@handler`)."""
        key = name or getattr(fn, _MARK, None)
        if not key:
            raise ValueError(f"{fn!r} has no handler name: decorate it with @handler('name')")
        self._by_name.add(key, fn)

    def names(self) -> list[str]:
        """Registered handler names, sorted."""
        return self._by_name.names()

    def resolve(self, ref: str) -> Callable[..., Any]:
        """The callable for `ref`: a registered name or `package.module:function`.

        Raises:
            NotFoundError: saying why it does not resolve and what would.
        """
        if ref in self._by_name:
            return self._by_name[ref]
        module_name, sep, attr = ref.partition(":")
        if not sep:
            raise NotFoundError(self._by_name.unknown(ref))
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # any import-time failure is the user's module's
            raise NotFoundError(
                f"handler {ref!r}: cannot import module {module_name!r} "
                f"({type(exc).__name__}: {exc}); is it installed and on PYTHONPATH?") from exc
        fn: Any = module
        for part in attr.split("."):
            fn = getattr(fn, part, None)
            if fn is None:
                raise NotFoundError(
                    f"handler {ref!r}: module {module_name!r} has no attribute {attr!r}")
        if not callable(fn):
            raise NotFoundError(f"handler {ref!r} is not callable")
        return fn  # type: ignore[no-any-return]

    def check(self, ref: str) -> str | None:
        """None when `ref` resolves, else the reason it does not (for manifest checks).

        Imports the module a `module:function` reference names (its code runs); use
        `check_static` for manifests that are not trusted yet.
        """
        try:
            self.resolve(ref)
        except NotFoundError as exc:
            return str(exc)
        return None

    def check_static(self, ref: str) -> str | None:
        """As `check`, but finds `module:function` without importing (`check_statically`)."""
        if ref in self._by_name:
            return None
        if ":" not in ref:
            return self.check(ref)  # not a registered name: the same message, no import
        return check_statically(ref)
