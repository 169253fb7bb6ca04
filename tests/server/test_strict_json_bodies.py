"""`strict_json_problem`: the same verdicts on the fast path (orjson) and past it (the
checks by `json`), at the edges where the two parsers differ."""

from __future__ import annotations

import pytest

from aios.server.strictjson import MAX_INT_DIGITS, strict_json_problem


@pytest.mark.parametrize(("body", "fragment"), [
    (b'{"temperature": NaN}', "NaN is not a JSON number"),
    (b'{"t": -Infinity}', "-Infinity is not a JSON number"),
    (b'{"t": 1e400}', "out of range (it would be infinite)"),
    (b'{"t": -1E400}', "out of range (it would be infinite)"),
    (b'{"c": "\\ud800"}', "lone UTF-16 surrogate"),
    (b'{"c": "\xff"}', "not UTF-8 (byte 7)"),
    (b'{"n": ' + b"7" * (MAX_INT_DIGITS + 1) + b"}", f"{MAX_INT_DIGITS + 1} digits"),
    # orjson reads a 30-digit integer as a float; the digit rule still applies below 100
    (b'{"n": -' + b"9" * (MAX_INT_DIGITS + 5) + b"}", f"{MAX_INT_DIGITS + 5} digits"),
])
def test_refused_bodies_name_the_problem(body, fragment):
    problem = strict_json_problem(body)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize("body", [
    b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "h\xc3\xa9"}]}',
    b'{"n": ' + b"9" * MAX_INT_DIGITS + b"}",  # exactly the limit
    b'{"c": "' + b"1" * 500 + b'"}',  # a long run of digits in a string is not an integer
    b"[" * 600 + b"]" * 600,  # deeper than the fast path takes, within json's limit
    b'{"c": "\\ud83d\\ude00"}',  # a surrogate pair is a character
    b"{not json",  # left to FastAPI's own 422
    b'{"t": 1e-400}',  # underflows to 0.0: finite
])
def test_accepted_bodies(body):
    assert strict_json_problem(body) is None
