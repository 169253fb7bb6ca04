"""Rendering pages: the Jinja2 environment, shared filters, and error pages."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from aios.auth.users import Role
from aios.errors import AiosError
from aios.llm.pricing import usd_text
from aios.server.sessions import Session

__all__ = ["environment", "error_page", "render", "safe_next"]


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; the store writes UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return _utc(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(value: datetime | None) -> str:
    if value is None:
        return "-"
    seconds = (datetime.now(UTC) - _utc(value)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{max(0, int(seconds))}s ago"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"


def _usd(value: float | None) -> str:
    return "-" if value is None else usd_text(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


@functools.cache
def environment() -> Environment:
    """The template environment (templates ship in the package; autoescaping on)."""
    env = Environment(loader=PackageLoader("aios.server.pages", "templates"),
                      autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=_when, ago=_ago, ms=_ms, usd=_usd, pct=_pct, pretty=_pretty,
                       short=lambda v: str(v)[:12], urlquote=lambda v: quote(str(v), safe=""))
    return env


#: Navigation: (path, label), in order.
NAV = (("/", "Overview"), ("/runs", "Runs"), ("/traces", "Traces"), ("/charts", "Charts"),
       ("/approvals", "Approvals"), ("/evals", "Evaluations"), ("/redteam", "Red team"),
       ("/discovery", "Discovery"), ("/keys", "API keys"))


def render(request: Request, template: str, session: Session | None, *, status: int = 200,
           title: str = "", **context: Any) -> HTMLResponse:
    """A page: `template` with the signed-in user, the CSRF token and navigation."""
    from aios import __version__

    path = request.url.path
    active = "/" if path == "/" else next(
        (p for p, _ in NAV if p != "/" and path.startswith(p)), "")
    html = environment().get_template(template).render(
        request=request, session=session, user=session.user if session else None,
        csrf=session.csrf if session else "", nav=NAV, nav_active=active,
        can_approve=bool(session and session.user.role.allows(Role.approver)),
        version=__version__,
        title=title, notice=request.query_params.get("notice", ""),
        problem=request.query_params.get("error", ""),
        events_after=getattr(request.state, "events_after", 0), **context)
    return HTMLResponse(html, status_code=status)


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def error_page(request: Request, exc: AiosError, status: int) -> Response:
    """What a page answers with for an error: the log-in page when not signed in."""
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return render(request, "error.html", None, status=status, title="Error",
                  error_kind=type(exc).__name__, message=str(exc), code=status)
