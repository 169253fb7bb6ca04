"""The dashboard's cookies: HttpOnly, SameSite=Lax, Secure when served over https."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response

__all__ = ["CookiePolicy", "clear_cookie", "set_cookie"]


@dataclass(frozen=True)
class CookiePolicy:
    """How the dashboard's cookies are set.

    Attributes:
        secure: `auto` (Secure when the request came over https, as seen through
            X-Forwarded-Proto from a trusted proxy), `always` or `never` (AIOS_COOKIE_SECURE).
        max_age: seconds a session lasts (the lifetime of its token as well).
    """

    secure: str = "auto"
    max_age: int = 12 * 3600

    def is_secure(self, request: Request) -> bool:
        """Whether cookies set in answer to `request` get the Secure flag."""
        if self.secure == "auto":
            return request.url.scheme == "https"
        return self.secure == "always"


def set_cookie(response: Response, request: Request, policy: CookiePolicy, name: str,
               value: str, *, max_age: int | None = None) -> None:
    """Set an HttpOnly, SameSite=Lax cookie (Secure per `policy`); scripts cannot read it."""
    response.set_cookie(name, value, max_age=max_age if max_age is not None else policy.max_age,
                        httponly=True, samesite="lax", secure=policy.is_secure(request),
                        path="/")


def clear_cookie(response: Response, request: Request, policy: CookiePolicy,
                 name: str) -> None:
    """Delete a cookie set by `set_cookie`."""
    response.delete_cookie(name, path="/", httponly=True, samesite="lax",
                           secure=policy.is_secure(request))
