"""The base of adapters over a vendor SDK's async client (`anthropic`, `openai`).

The SDK is imported on the first call, so a manifest may name a provider whose extra is not
installed until it is used; the client is built once and closed by `aclose`.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

from aios.errors import PermanentProviderError, ProviderError, TransientProviderError
from aios.llm.providers._errors import missing_sdk, status_error, transport_errors
from aios.llm.providers.registry import ProviderBase
from aios.llm.types import ModelInfo

__all__ = ["SdkProvider"]


class SdkProvider(ProviderBase):
    """An adapter holding one SDK client, opened lazily.

    Attributes:
        sdk_module: the SDK's import name (also the package named when it is missing).
        sdk_error: the name of the SDK's base exception class, caught around each call.
        api_label: the service named when it cannot be reached and the model sets no base_url.
    """

    sdk_module: ClassVar[str] = ""
    sdk_error: ClassVar[str] = ""
    api_label: ClassVar[str] = ""

    def __init__(self, model: ModelInfo, *, api_key: str | None = None):
        super().__init__(model, api_key=api_key)
        self._client: Any = None
        self._sdk: Any = None

    def _open(self, sdk: Any) -> Any:
        """The SDK client for this model (`sdk` is the imported module)."""
        raise NotImplementedError

    def _connect(self) -> Any:
        """The client, importing the SDK and building it on first use.

        Raises:
            PermanentProviderError: the SDK is not installed (the message says how to install it).
        """
        if self._client is None:
            try:
                sdk = importlib.import_module(self.sdk_module)
            except ImportError as exc:
                raise missing_sdk(self.name, self.model.model_id, self.sdk_module,
                                  self.install_hint) from exc
            self._sdk = sdk
            self._client = self._open(sdk)
        return self._client

    async def aclose(self) -> None:
        """Close the SDK client's connection pool."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _errors(self) -> tuple[type[BaseException], ...]:
        """The exceptions a call may raise that `_translate` maps to provider errors."""
        base: tuple[type[BaseException], ...] = (ValueError, *transport_errors())
        return (getattr(self._sdk, self.sdk_error), *base) if self._sdk is not None else base

    def _translate(self, exc: BaseException, model: ModelInfo) -> ProviderError:
        """The provider error for an exception in `_errors()`: transient or permanent."""
        sdk = self._sdk
        where = f"{self.name} model {model.model_id!r}"
        if sdk is not None and isinstance(exc, sdk.APIStatusError):
            headers = dict(exc.response.headers) if exc.response is not None else None
            return status_error(self.name, model.model_id, exc.status_code,
                                str(getattr(exc, "message", exc)), headers)
        if sdk is not None and isinstance(exc, sdk.APITimeoutError):
            return TransientProviderError(f"{where}: request timed out after "
                                          f"{model.timeout_s:g}s", provider=self.name,
                                          model=model.model_id)
        if (sdk is not None and isinstance(exc, sdk.APIConnectionError)) \
                or isinstance(exc, transport_errors()):
            url = model.base_url or self.api_label
            return TransientProviderError(f"{where}: cannot reach {url}: {exc}",
                                          provider=self.name, model=model.model_id)
        if isinstance(exc, ValueError):  # a body that does not parse (JSONDecodeError ...)
            return TransientProviderError(f"{where}: malformed response: {exc}",
                                          provider=self.name, model=model.model_id)
        return PermanentProviderError(f"{where}: {type(exc).__name__}: {exc}",
                                      provider=self.name, model=model.model_id)
