"""Checks a completion against the request's `response_format` (JSON, optionally a schema)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import jsonschema

from aios.errors import InvalidOutput

__all__ = ["JsonOutputChecker"]

# Small models often wrap JSON in a Markdown fence even when told not to.
_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(?P<body>.*?)\n?```\s*$", re.DOTALL)


class JsonOutputChecker:
    """Parses and validates JSON output; compiled schema validators are kept per schema."""

    def __init__(self) -> None:
        self._validators: dict[str, Any] = {}

    def check(self, text: str, schema: Mapping[str, Any], *, provider: str,
              model: str) -> tuple[str, InvalidOutput | None]:
        """The JSON text (a Markdown fence removed) and the error, if the output is invalid.

        The error is returned, not raised, so the caller can record the call's cost first.
        """
        body = text
        fenced = _FENCE.match(text)
        if fenced:
            body = fenced.group("body")
        shown = text if len(text) <= 200 else text[:200] + "..."
        try:
            value = json.loads(body)
        except ValueError as exc:
            return text, InvalidOutput(
                f"model {model!r} was asked for JSON but returned text that does not parse "
                f"({exc}): {shown!r}; use a model with capabilities.json, or relax the "
                "request's response_format", provider=provider, model=model)
        if not schema:
            if not isinstance(value, dict):
                return body, InvalidOutput(
                    f"model {model!r} was asked for a JSON object but returned "
                    f"{type(value).__name__}: {shown!r}", provider=provider, model=model)
            return body, None
        key = json.dumps(dict(schema), sort_keys=True, default=str)
        validator = self._validators.get(key)
        if validator is None:
            validator = self._validators[key] = jsonschema.Draft202012Validator(dict(schema))
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            detail = "; ".join(f"{'.'.join(str(p) for p in e.path) or '(root)'}: {e.message}"
                               for e in errors[:5])
            return body, InvalidOutput(
                f"model {model!r} returned JSON that does not match the requested schema: "
                f"{detail}", provider=provider, model=model)
        return body, None
