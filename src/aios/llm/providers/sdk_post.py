"""A JSON POST through the `openai` SDK client's own connection pool, its request built once.

`AsyncOpenAI.post` builds each request anew: request options (a pydantic model), headers
(auth, organization, the SDK's platform headers), URL, timeout and the body's JSON, through
its client-auth hooks. In front of a fast upstream that costs about as much CPU as the HTTP
exchange itself (`bench/openai_endpoint.py`). `JsonPost` asks the SDK once, per client, for
the request it would send to a path, keeps its URL, headers and timeout, and then sends each
body (serialised with orjson) on the SDK's own HTTP client. Failures are raised as the SDK
raises them (`APIStatusError` built by the SDK from the response, `APITimeoutError`,
`APIConnectionError`), so the provider translates them as before.

`JsonPost.of` returns None when the SDK does not expose what this needs (`_client`,
`_build_request`, `_make_status_error_from_response`: private, present in openai 1.x to 3.x);
the caller then posts through the SDK.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from aios.llm.providers._errors import transport_errors

__all__ = ["JsonPost"]

_PER_REQUEST = frozenset({"content-length", "host"})


class JsonPost:
    """POSTs of JSON bodies to one path of one SDK client.

    Args:
        sdk: the `openai` module.
        client: the SDK's async client.
        path: the path under the client's base URL (`/chat/completions`).
    """

    def __init__(self, sdk: Any, client: Any, path: str):
        template = client._build_request(sdk._models.FinalRequestOptions.construct(
            method="post", url=path, json_data={}))
        self.client = client
        self._sdk = sdk
        self._http = client._client
        self.url = template.url
        self.headers = [(k, v) for k, v in template.headers.raw
                        if k.decode("latin-1").lower() not in _PER_REQUEST]
        self.extensions = dict(template.extensions)
        self._transport = transport_errors()
        self._timeouts: tuple[type[BaseException], ...] = tuple(
            timeout for error in self._transport
            if isinstance(timeout := getattr(sys.modules[error.__module__.split(".")[0]],
                                             "TimeoutException", None), type)
            and issubclass(timeout, BaseException))

    @classmethod
    def of(cls, sdk: Any, client: Any, path: str) -> JsonPost | None:
        """The poster, or None when this SDK version lacks what it uses."""
        needed = ("_client", "_build_request", "_make_status_error_from_response")
        if not all(hasattr(client, name) for name in needed):
            return None
        try:
            return cls(sdk, client, path)
        except (ImportError, AttributeError, TypeError):
            return None

    async def __call__(self, body: Any) -> Any:
        """The response's JSON.

        Raises:
            openai.APIStatusError: a status other than 2xx (the SDK's subclass for it).
            openai.APITimeoutError: the request timed out.
            openai.APIConnectionError: the upstream cannot be reached.
            ValueError: the body is not JSON.
        """
        request = self._http.build_request("POST", self.url, content=orjson.dumps(body),
                                           headers=self.headers, extensions=self.extensions)
        try:
            response = await self._http.send(request)
        except self._timeouts as exc:
            raise self._sdk.APITimeoutError(request=request) from exc
        except self._transport as exc:
            raise self._sdk.APIConnectionError(request=request) from exc
        if not 200 <= response.status_code < 300:  # as the SDK's raise_for_status
            raise self.client._make_status_error_from_response(response)
        return orjson.loads(response.content)

