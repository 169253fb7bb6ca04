"""Provider adapters, registered by name: `openai`, `anthropic`, `local`.

Importing this package registers the built-in adapters; their SDKs are imported only when a
model of that provider is first called, and a missing one fails with its `pip install` line.
A third-party adapter registers the same way: subclass `ProviderBase`, implement `complete`
and `stream`, decorate with `@register_provider("name")`.
"""

# Built-in adapters register themselves on import (after the registry exists).
from aios.llm.providers.anthropic import AnthropicProvider
from aios.llm.providers.local import LocalProvider, packaged_model_path
from aios.llm.providers.openai import OpenAIProvider
from aios.llm.providers.registry import (
    ProviderBase,
    create_provider,
    provider_class,
    register_provider,
    registered_providers,
    resolve_api_key,
)

__all__ = [
    "AnthropicProvider",
    "LocalProvider",
    "OpenAIProvider",
    "ProviderBase",
    "create_provider",
    "packaged_model_path",
    "provider_class",
    "register_provider",
    "registered_providers",
    "resolve_api_key",
]
