"""Swagger UI at /docs works offline: every URL it references is local and answers 200."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import httpx
from fastapi.testclient import TestClient


def test_docs_reference_only_local_urls_and_every_asset_answers(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    urls = set(re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text))
    urls |= set(re.findall(r"""url: ?["']([^"']+)["']""", page.text))
    assert urls, page.text
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), f"/docs loads {url} from the network"
        answer = client.get(urljoin("http://testserver/docs", url))
        assert answer.status_code == 200, url
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
    assert any(url.endswith("swagger-ui.css") for url in urls)
    assert any(url.endswith("openapi.json") for url in urls)


def test_the_cdn_only_redoc_page_is_off(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404


def test_docs_over_a_real_socket(live: str) -> None:
    page = httpx.get(f"{live}/docs", timeout=30)
    js = httpx.get(f"{live}/static/swagger-ui/swagger-ui-bundle.js", timeout=30)
    assert page.status_code == 200 and js.status_code == 200
    assert "javascript" in js.headers["content-type"] and len(js.content) > 100_000
