"""Swagger UI at /docs from a package's assets: these machines have no network, so no CDN.

FastAPI's default /docs page loads Swagger UI's script and stylesheet from a CDN (a blank page
offline). The `swagger-ui-bundle` package ships them; they are served under
`/static/swagger-ui/` and the page references nothing else. ReDoc (which also comes from a
CDN, and no package ships it) is turned off: /docs and /openapi.json describe the same API.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from aios.errors import ConfigError

__all__ = ["ASSETS_PREFIX", "mount_docs", "swagger_assets"]

#: Where the assets are served.
ASSETS_PREFIX = "/static/swagger-ui"


def swagger_assets() -> Path:
    """The directory of Swagger UI's files in the installed `swagger-ui-bundle` package.

    Raises:
        ConfigError: the package is not installed (it comes with `aios[server]`).
    """
    if importlib.util.find_spec("swagger_ui_bundle") is None:
        raise ConfigError("the API docs page needs swagger-ui-bundle: pip install "
                          "'aios[server]' (or pip install swagger-ui-bundle)")
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


def mount_docs(app: FastAPI, *, title: str) -> None:
    """Serve Swagger UI at /docs (for `app.openapi_url`) from the packaged assets."""
    app.mount(ASSETS_PREFIX, StaticFiles(directory=swagger_assets()), name="swagger-ui")
    redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{title} - API docs",
            oauth2_redirect_url=redirect,
            swagger_js_url=f"{ASSETS_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PREFIX}/favicon-32x32.png")

    @app.get(redirect, include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
