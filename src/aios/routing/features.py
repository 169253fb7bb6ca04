"""Request features the router decides on: size, code, maths, reasoning, tools, format, language.

Cheap regular-expression markers, computed on every routed request (tens of microseconds).
They explain a decision to a human (`RouteDecision.features`), drive the feature-only
fallback policy when no classifier is loaded, and are appended to the embedding as
classifier inputs.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from aios.llm.tokens import estimate_request_tokens
from aios.llm.types import LLMRequest

__all__ = ["FEATURE_NAMES", "RequestFeatures", "extract_features", "last_user_text"]

_CODE = re.compile(
    r"```|\bdef \w+\(|\bclass \w+[:(]|\bfunction\b|\bimport \w+|#include|\breturn\b|=>|"
    r"\bpublic static\b|\bconsole\.log\b|\bSELECT\b.+\bFROM\b|[{};]\s*$|"
    r"\b(?:write|implement|fix|debug|refactor) (?:a |the |this )?"
    r"(?:python |java |rust |go |c\+\+ |sql |bash |shell )?"
    r"(?:function|program|script|class|method|query|code|bug)",
    re.IGNORECASE | re.MULTILINE)
_MATH = re.compile(
    r"\d\s*[-+*/^=<>]\s*\d|\\(?:frac|sum|int|sqrt)|\b(?:solve|equation|integral|derivative|"
    r"probability|prove|theorem|calculate|compute|how many|percent(?:age)?|matrix|"
    r"polynomial|remainder|factorial)\b|[∑∫√π≤≥≠]",
    re.IGNORECASE)
_STEPS = re.compile(
    r"\bstep[- ]by[- ]step\b|\bfirst\b.{0,200}\bthen\b|\bexplain (?:why|how)\b|\bjustify\b|"
    r"\bcompare\b|\btrade-?offs?\b|\bplan\b|\banaly[sz]e\b|\breason(?:ing)?\b|\bderive\b|"
    r"^\s*(?:\d+[.)]|[-*])\s+\S",
    re.IGNORECASE | re.MULTILINE | re.DOTALL)
_FORMATS = {
    "json": re.compile(r"\bjson\b", re.IGNORECASE),
    "yaml": re.compile(r"\bya?ml\b", re.IGNORECASE),
    "csv": re.compile(r"\bcsv\b", re.IGNORECASE),
    "table": re.compile(r"\b(?:markdown )?table\b", re.IGNORECASE),
    "list": re.compile(r"\b(?:bullet(?:ed)? list|numbered list)\b", re.IGNORECASE),
}
# Function words that other Latin-script languages rarely use as words of their own.
_ENGLISH = frozenset([
    "the", "and", "of", "to", "is", "are", "was", "were", "that", "this", "for", "with", "what",
    "how", "why", "which", "who", "please", "you", "your", "can", "does", "from", "have", "has",
    "will", "would", "should", "there"])
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

#: The numeric features, in the order `RequestFeatures.vector` returns them.
FEATURE_NAMES = ("log_tokens", "code", "math", "multi_step", "tools", "structured_output",
                 "non_english", "messages")


def last_user_text(request: LLMRequest) -> str:
    """The content of the last user message ('' when there is none)."""
    for message in reversed(request.messages):
        if message.role == "user":
            return message.content
    return ""


def _language(text: str) -> str:
    """A coarse language tag: `en`, `latin` (other Latin-script), or the dominant script."""
    letters = [ch for ch in text[:2000] if ch.isalpha()]
    if not letters:
        return "none"
    scripts: dict[str, int] = {}
    for ch in letters:
        name = unicodedata.name(ch, "UNKNOWN").split(" ")[0]
        scripts[name] = scripts.get(name, 0) + 1
    script = max(scripts, key=lambda key: scripts[key])
    if script != "LATIN":
        return script.lower()
    words = [w.lower() for w in _WORD.findall(text[:2000])]
    english = sum(1 for w in words if w in _ENGLISH)
    accented = sum(1 for ch in letters if not ch.isascii()) / len(letters)
    return "en" if words and english / len(words) >= 0.1 and accented < 0.02 else "latin"


@dataclass(frozen=True)
class RequestFeatures:
    """What the router knows about a request before choosing a model.

    Attributes:
        input_tokens: estimated prompt tokens (the gateway's estimate: messages, framing,
            tool definitions).
        output_tokens: the output the call may produce (`max_tokens`, else a default).
        code, math, multi_step: markers found in the prompt.
        tools: the request carries tool definitions.
        output_format: `json` when `response_format` is set, else a format the prompt
            asks for (`yaml`, `csv`, `table`, `list`), else `text`.
        language: `en`, `latin`, or a script name (`cyrillic`, `cjk`, ...).
        messages: number of messages.
    """

    input_tokens: int
    output_tokens: int
    code: bool
    math: bool
    multi_step: bool
    tools: bool
    output_format: str
    language: str
    messages: int

    @property
    def needs_tools(self) -> bool:
        """The model must support tool calling."""
        return self.tools

    def vector(self) -> np.ndarray:
        """The numeric features, in `FEATURE_NAMES` order."""
        return np.array([
            math.log1p(self.input_tokens) / 10.0, float(self.code), float(self.math),
            float(self.multi_step), float(self.tools), float(self.output_format != "text"),
            float(self.language not in ("en", "none")), math.log1p(self.messages) / 3.0,
        ], dtype=np.float32)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able record (stored with each routing decision)."""
        return asdict(self)


def extract_features(request: LLMRequest, *, default_output_tokens: int = 512
                     ) -> RequestFeatures:
    """The features of `request`.

    Args:
        request: the request to route.
        default_output_tokens: output assumed when `max_tokens` is not set.
    """
    text = request.prompt_text
    user = last_user_text(request) or text
    output_format = "json" if request.response_format is not None else next(
        (name for name, pattern in _FORMATS.items() if pattern.search(user)), "text")
    return RequestFeatures(
        input_tokens=estimate_request_tokens(request),
        output_tokens=request.max_tokens or default_output_tokens,
        code=bool(_CODE.search(text)),
        math=bool(_MATH.search(user)),
        multi_step=bool(_STEPS.search(user)),
        tools=bool(request.tools),
        output_format=output_format,
        language=_language(user),
        messages=len(request.messages),
    )
