"""What a browser loads besides the API: the docs pages work offline, the favicon exists, the page knows the limit."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.server.conftest import app_client, settings_for


def asset_urls(page: str) -> list[str]:
    """Every script, stylesheet and icon a page loads (src= and href=)."""
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)


async def test_docs_and_redoc_load_only_assets_this_server_serves(client: httpx.AsyncClient) -> None:
    for path, expected in (("/docs", "SwaggerUIBundle"), ("/redoc", "<redoc")):
        response = await client.get(path)
        assert response.status_code == 200
        assert expected in response.text
        urls = asset_urls(response.text)
        assert urls, f"{path} loads nothing?"
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), f"{path} loads {url} from elsewhere"
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert not asset.headers["content-type"].startswith(("application/json", "text/html")), url
            if url.endswith((".js", ".css")):
                assert len(asset.content) > 10_000, url  # the real bundle
        assert "fonts.googleapis" not in response.text and "cdn." not in response.text
    spec = (await client.get("/openapi.json")).json()
    assert "/agents/{agent_id}/chat" in spec["paths"]


async def test_docs_asset_route_serves_only_the_known_bundles(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs-assets/swagger-ui.css")).headers["content-type"].startswith("text/css")
    for name in ("favicon.png", "..%2F__init__.py", "core.py", "nothing.js"):
        response = await client.get(f"/docs-assets/{name}")
        assert response.status_code == 404, name
        assert response.json()["error_code"] == "not_found"


async def test_favicon_is_an_icon(client: httpx.AsyncClient) -> None:
    response = await client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # the ICO header
    page = (await client.get("/")).text
    assert 'rel="icon" href="/favicon.ico"' in page


async def test_the_page_carries_the_servers_input_limit(home: Path) -> None:
    async with app_client(settings_for(max_input_chars=1234)) as c:
        page = (await c.get("/")).text
    assert 'data-max-input="1234"' in page
    assert "ASDRP_" not in page
