"""`POST /v1/embeddings` in OpenAI's format, served by the packaged embedding model.

The model is the one `aios.embeddings` ships (WordLlama, 256 dimensions, numpy only): the
same vectors the response cache and the router use. It runs in the server process, so the
call costs nothing and is not written to the cost ledger; the key is checked and counted
against its request limit as for chat completions. `model` is the model's name (as
`GET /v1/models` does not list it: `wordllama-l2_supercat-256`) or `default`.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aios.embeddings import EmbeddingService
from aios.server.openai_api import admit, error_response
from aios.server.openai_format import OpenAIError, refusal

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["openai"])

DEFAULT = "default"


class EmbeddingRequest(BaseModel):
    """The body of `POST /v1/embeddings` (text input only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    input: str | list[str] = Field(min_length=1)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None


async def _service(request: Request) -> EmbeddingService:
    service: EmbeddingService | None = getattr(request.app.state, "openai_embeddings", None)
    if service is None:  # loads the model once, off the event loop (~1 s)
        service = await asyncio.to_thread(EmbeddingService.open)
        request.app.state.openai_embeddings = service
    return service


def _parse(body: bytes) -> EmbeddingRequest:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OpenAIError(400, f"The request body is not valid JSON ({exc})",
                          code="invalid_json") from None
    if not isinstance(data, dict):
        raise OpenAIError(400, "The request body must be a JSON object", code="invalid_json")
    try:
        return EmbeddingRequest.model_validate(data)
    except ValidationError as exc:
        raise refusal(exc) from None


@router.post("/embeddings", summary="OpenAI-compatible embeddings", response_model=None)
async def embeddings(request: Request) -> Response:
    """Vectors of the input texts from the packaged embedding model."""
    try:
        await admit(request)
        body = _parse(await request.body())
        service = await _service(request)
        if body.model not in (DEFAULT, service.name):
            raise OpenAIError(404, f"The model {body.model!r} does not exist; embeddings come "
                                   f"from {service.name!r} (or say {DEFAULT!r})",
                              param="model", code="model_not_found")
        if body.dimensions is not None and body.dimensions != service.dim:
            raise OpenAIError(400, f"dimensions={body.dimensions} is not available: "
                                   f"{service.name} gives {service.dim}",
                              param="dimensions", code="unsupported_value")
        texts = [body.input] if isinstance(body.input, str) else body.input
        vectors = await asyncio.to_thread(service.embed, texts)
        counter = getattr(service.backend, "token_ids", None)
        tokens = sum(len(ids) for ids in counter(texts)) if counter else \
            sum(len(t.split()) for t in texts)
    except OpenAIError as exc:
        return error_response(exc)
    data: list[dict[str, Any]] = []
    for i, vector in enumerate(vectors):
        value: Any = (base64.b64encode(vector.astype("<f4").tobytes()).decode()
                      if body.encoding_format == "base64" else vector.tolist())
        data.append({"object": "embedding", "index": i, "embedding": value})
    return JSONResponse({"object": "list", "data": data, "model": service.name,
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
