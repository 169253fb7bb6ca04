"""No state change without authentication: every mutating API route refuses anonymous and
wrong-role callers; every dashboard form refuses a missing session and a missing CSRF token;
sessions use HttpOnly, SameSite=Lax cookies that are Secure over https."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from server_helpers import bearer

from aios.server import ROUTER_MODULES, create_app
from aios.settings import Settings

_MUTATING = {"post", "put", "patch", "delete"}
#: Signing in with a password is how a caller authenticates, so it takes no token; Slack's
#: button clicks authenticate by Slack's signature and decide as the linked user (their
#: refusals: tests/server/test_server_slack.py).
_PUBLIC = {("post", "/api/auth/token"), ("post", "/api/slack/actions")}
#: Routes that need the admin role; every other mutating route needs an approver.
_ADMIN_ONLY = {("post", "/api/users"), ("post", "/api/users/{name}/tokens"),
               ("delete", "/api/tokens/{token_id}"), ("post", "/api/redteam/reports"),
               ("post", "/api/redteam/runs")}
#: The OpenAI-compatible endpoint: any user's API key may call models (budgets and the
#: manifest's `endpoint:` limits bound it); no role beyond viewer is needed.
_ANY_ROLE = {("post", "/v1/chat/completions"), ("post", "/v1/embeddings")}


def _app_for_listing() -> Any:
    # Listing routes needs no lifespan (no store is opened); the packaged manifest will do.
    return create_app(Settings(home=Path("/nonexistent-aios-home")))


def _mutating_routes() -> list[tuple[str, str]]:
    paths = _app_for_listing().openapi()["paths"]
    return sorted((method, path) for path, ops in paths.items() for method in ops
                  if method in _MUTATING and (method, path) not in _PUBLIC)


def _form_routes() -> list[str]:
    routers = [importlib.import_module(name).router for name in ROUTER_MODULES
               if name.startswith("aios.server.pages.")]
    return sorted(r.path for router in routers for r in router.routes
                  if isinstance(r, APIRoute) and "POST" in r.methods and r.path != "/login")


MUTATING = _mutating_routes()
FORMS = _form_routes()
#: Forms only admins may submit (the rest need the approver role).
ADMIN_FORMS = frozenset({"/users/{name}/{action}", "/redteam/run"})


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_the_route_lists_are_not_empty() -> None:
    assert ("post", "/api/runs") in MUTATING and ("post", "/api/approvals/{request_id}/approve") \
        in MUTATING
    assert "/runs" in FORMS and "/approvals/{request_id}/approve" in FORMS and "/logout" in FORMS


@pytest.mark.parametrize(("method", "path"), MUTATING)
def test_mutating_routes_refuse_anonymous_callers(client: TestClient, method: str,
                                                  path: str) -> None:
    response = client.request(method.upper(), _url(path), json={})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    forged = client.request(method.upper(), _url(path), json={},
                            headers=bearer("aios_0000_forged"))
    assert forged.status_code == 401


@pytest.mark.parametrize(("method", "path"), MUTATING)
def test_mutating_routes_refuse_the_wrong_role(client: TestClient, tokens: dict[str, str],
                                               method: str, path: str) -> None:
    viewer = client.request(method.upper(), _url(path), json={}, headers=bearer(tokens["vic"]))
    if (method, path) in _ANY_ROLE:  # admitted: refused for its empty body, not for the role
        assert viewer.status_code == 400, viewer.text
        return
    assert viewer.status_code == 403, viewer.text
    if (method, path) in _ADMIN_ONLY:
        approver = client.request(method.upper(), _url(path), json={},
                                  headers=bearer(tokens["alice"]))
        assert approver.status_code == 403, approver.text
        assert "admin role" in approver.json()["detail"]


def _login(client: TestClient, name: str) -> str:
    """Log in through the form; returns the session's CSRF token from the next page."""
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post("/login", data={"name": name, "password": f"{name}-pw",
                                       "csrf": token.group(1), "next": "/runs"},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/runs", done.text
    page = client.get("/runs")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return csrf.group(1)


@pytest.mark.parametrize("path", FORMS)
def test_forms_refuse_callers_without_a_session(client: TestClient, path: str) -> None:
    response = client.post(_url(path), data={"csrf": "x"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("path", FORMS)
def test_forms_refuse_a_missing_or_wrong_csrf_token(client: TestClient, path: str) -> None:
    _login(client, "ada" if path in ADMIN_FORMS else "alice")
    missing = client.post(_url(path), data={}, follow_redirects=False)
    assert missing.status_code == 403 and "CSRF" in missing.text
    wrong = client.post(_url(path), data={"csrf": "0" * 64}, follow_redirects=False)
    assert wrong.status_code == 403


@pytest.mark.parametrize("path", [p for p in FORMS if p != "/logout"])
def test_viewers_cannot_submit_forms_that_change_state(client: TestClient, path: str) -> None:
    csrf = _login(client, "vic")
    response = client.post(_url(path), data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 403
    assert ("admin role" if path in ADMIN_FORMS else "approver role") in response.text


def test_a_session_cookie_is_httponly_and_lax_and_logout_revokes_it(
        client: TestClient) -> None:
    form = client.get("/login")
    login_cookie = form.headers["set-cookie"]
    assert "HttpOnly" in login_cookie and "samesite=lax" in login_cookie.lower()
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post("/login", data={"name": "alice", "password": "alice-pw",
                                       "csrf": token.group(1)}, follow_redirects=False)
    cookie = next(c for c in done.headers.get_list("set-cookie") if "aios_session=" in c)
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # plain http here; see the https test
    secret = client.cookies.get("aios_session")
    assert secret is not None
    assert client.get("/api/me", headers=bearer(secret)).json()["name"] == "alice"
    page = client.get("/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    out = client.post("/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/api/me", headers=bearer(secret)).status_code == 401  # revoked


def test_a_wrong_password_or_a_forged_login_form_signs_nobody_in(client: TestClient) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    wrong = client.post("/login", data={"name": "alice", "password": "nope",
                                        "csrf": token.group(1)}, follow_redirects=False)
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
    client.cookies.clear()
    forged = client.post("/login", data={"name": "alice", "password": "alice-pw",
                                         "csrf": "guessed"}, follow_redirects=False)
    assert forged.status_code == 403 and "aios_session" not in client.cookies


def test_after_login_only_local_paths_are_followed(client: TestClient) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post("/login", data={"name": "alice", "password": "alice-pw",
                                       "csrf": token.group(1), "next": "//evil.example/x"},
                       follow_redirects=False)
    assert done.headers["location"] == "/"


def test_cookies_are_secure_over_https(settings: Settings, manifest_path: Path,
                                       tokens: dict[str, str]) -> None:
    app = create_app(settings, manifest=manifest_path, resume_interval=0, expiry_interval=0)
    with TestClient(app, base_url="https://testserver") as client:
        form = client.get("/login")
        assert "Secure" in form.headers["set-cookie"]
    forced = settings.model_copy(update={"cookie_secure": "never"})
    app = create_app(forced, manifest=manifest_path, resume_interval=0, expiry_interval=0)
    with TestClient(app, base_url="https://testserver") as client:
        assert "Secure" not in client.get("/login").headers["set-cookie"]


def test_pages_send_a_content_security_policy(client: TestClient) -> None:
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_api_token_opens_a_session_of_its_own(client: TestClient,
                                                 tokens: dict[str, str]) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post("/login", data={"token": tokens["bob"], "csrf": token.group(1)},
                       follow_redirects=False)
    assert done.status_code == 303
    session = client.cookies.get("aios_session")
    assert session is not None and session != tokens["bob"]  # a new, shorter-lived token
    page = client.get("/")
    assert 'id="current-user">bob<' in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    client.post("/logout", data={"csrf": csrf.group(1)})
    # Logging out revoked the session, not the API token it was opened with.
    assert client.get("/api/me", headers=bearer(tokens["bob"])).status_code == 200
    assert client.get("/api/me", headers=bearer(session)).status_code == 401
