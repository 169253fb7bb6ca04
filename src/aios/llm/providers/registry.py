"""The provider registry: adapters register by name with a decorator; the manifest names them.

A provider class declares what it needs and offers as class attributes (the key's usual
environment variable, a default model, default capabilities, its genai-prices id), so the
gateway, the price table and `aios models` read data, never branch on provider names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from aios.errors import ConfigError
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, StreamChunk
from aios.registry import Registry

__all__ = ["ProviderBase", "create_provider", "provider_class", "register_provider",
           "registered_providers", "resolve_api_key", "sampling_options", "whole_reply"]

_REGISTRY: Registry[type[ProviderBase]] = Registry(
    "LLM provider", duplicates="error", known="registered providers", name_attr="name")

P = TypeVar("P", bound="type[ProviderBase]")


class ProviderBase:
    """What every built-in adapter declares; subclasses implement the `Provider` protocol.

    Attributes:
        name: the registered name.
        pricing_id: the provider id in genai-prices (None: the model is free, as a local one).
        default_api_key_env: the variable the key is usually in (None: no key needed).
        default_model: the model id used when the manifest names none (None: required).
        default_context_window: used when neither the manifest nor genai-prices knows it.
        default_max_output: the output cap when neither the request nor the manifest sets
            one (None: whatever the context window leaves).
        default_tools, default_json: capabilities assumed unless the manifest says otherwise.
        install_hint: the exact command that installs the adapter's SDK.
        options: the provider options (`params:` in the manifest) the constructor accepts.
    """

    name: ClassVar[str] = ""
    pricing_id: ClassVar[str | None] = None
    default_api_key_env: ClassVar[str | None] = None
    default_model: ClassVar[str | None] = None
    default_context_window: ClassVar[int] = 8192
    default_max_output: ClassVar[int | None] = None
    default_tools: ClassVar[bool] = False
    default_json: ClassVar[bool] = False
    install_hint: ClassVar[str] = ""
    options: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, model: ModelInfo, *, api_key: str | None = None):
        unknown = set(model.params) - self.options
        if unknown:
            accepted = ", ".join(sorted(self.options)) or "none"
            raise ConfigError(
                f"model {model.name!r}: provider {self.name!r} does not accept params "
                f"{', '.join(sorted(unknown))}; accepted: {accepted}")
        self.model = model
        self.api_key = api_key

    async def aclose(self) -> None:
        """Release the SDK client's connections (adapters with one override this)."""


def register_provider(name: str) -> Callable[[P], P]:
    """Class decorator: register a provider adapter under `name`.

    Raises:
        ConfigError: another class already holds the name.
    """

    return _REGISTRY.register(name)


def registered_providers() -> list[str]:
    """The registered provider names, sorted."""
    return _REGISTRY.names()


def provider_class(name: str) -> type[ProviderBase]:
    """The adapter class registered as `name`.

    Raises:
        ConfigError: no such provider; the message lists the registered ones.
    """
    return _REGISTRY.get(name)


def resolve_api_key(model: ModelInfo, env: Mapping[str, str]) -> str | None:
    """The API key for `model`, read from the variable its `api_key_env` names.

    Without `api_key_env`, the provider's usual variable is used when set; a model on a custom
    `base_url` (a local OpenAI-compatible server) may then run without a key.

    Raises:
        ConfigError: the key is required and the variable is not set; the message names it.
    """
    cls = provider_class(model.provider)
    variable = model.api_key_env or cls.default_api_key_env
    if variable is None:
        return None
    value = env.get(variable, "").strip()
    if value:
        return value
    if model.api_key_env is None and model.base_url is not None:
        return None  # a self-hosted endpoint with no key configured
    raise ConfigError(
        f"model {model.name!r} ({model.provider} {model.model_id}) needs an API key: set the "
        f"environment variable {variable}"
        + ("" if model.api_key_env else f" (or name another one with api_key_env in the "
           f"manifest's models.{model.name})"))


def create_provider(model: ModelInfo, env: Mapping[str, str]) -> Any:
    """A ready adapter instance for `model` (its key resolved from `env`).

    Raises:
        ConfigError: unknown provider, missing key or unknown provider params.
    """
    cls = provider_class(model.provider)
    return cls(model, api_key=resolve_api_key(model, env))


def sampling_options(request: LLMRequest) -> dict[str, Any]:
    """The sampling settings `request` sets (`temperature`, `top_p`, `seed`, `stop`), under
    the names the OpenAI-style APIs and llama.cpp share; unset ones are left out."""
    options: dict[str, Any] = {field: getattr(request, field)
                               for field in ("temperature", "top_p", "seed")
                               if getattr(request, field) is not None}
    if request.stop:
        options["stop"] = list(request.stop)
    return options


def whole_reply(response: LLMResponse) -> Iterator[StreamChunk]:
    """A reply that was not streamed, as the chunks a provider's `stream` yields: its text
    (if any), then a last chunk with the tool calls, finish reason and usage."""
    if response.text:
        yield StreamChunk(text=response.text)
    yield StreamChunk(tool_calls=response.tool_calls, finish_reason=response.finish_reason,
                      usage=response.usage)
