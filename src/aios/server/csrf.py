"""CSRF protection of the dashboard's forms.

A signed-in browser holds its session in an HttpOnly cookie, which it sends with any request,
including one a hostile page makes it send. Every state-changing form therefore carries a
token the hostile page cannot know: an HMAC of the session's secret (per-session, nothing to
store). Before sign-in there is no session, so the log-in form uses a double-submit token: a
random value in a cookie that must equal the one in the form. API clients that send a bearer
token are not exposed (browsers never add that header on their own) and need no token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from aios.errors import PermissionDenied

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "csrf_token", "new_token", "submitted_token", "verify"]

#: The form field and the header (for scripts) that carry the token.
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

_PURPOSE = b"aios dashboard csrf v1"


def csrf_token(session_secret: str) -> str:
    """The CSRF token of the session whose cookie holds `session_secret`."""
    return hmac.new(session_secret.encode(), _PURPOSE, hashlib.sha256).hexdigest()


def new_token() -> str:
    """A random token for the double-submit cookie of the log-in form."""
    return secrets.token_urlsafe(32)


async def submitted_token(request: Request) -> str:
    """The token the request carries: the `csrf` form field, else the X-CSRF-Token header."""
    header = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        if isinstance(value, str) and value:
            return value
    return header


def verify(sent: str, expected: str) -> None:
    """Raise PermissionDenied unless `sent` equals `expected` (in constant time)."""
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise PermissionDenied("the form's security token is missing or out of date (CSRF "
                               "check); reload the page and submit it again")
