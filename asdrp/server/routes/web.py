"""What a browser gets: the chat page at `/`, its favicon, and the API docs at `/docs` and `/redoc`.

The chat page is static (no build step); the server only writes its input limit into the page, so
the page can show the limit before anything is sent. The docs pages are FastAPI's own, pointed at
the Swagger UI and ReDoc bundles that the `fastapi-offline` package installs, served from here: a
machine with no internet (or a browser that blocks CDNs) still gets working docs.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from asdrp.server.errors import ApiError

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

DOCS_ASSETS_URL = "/docs-assets"
"""Where the Swagger UI and ReDoc files are served (from the installed package, never a CDN)."""

DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
}
"""The only files served from the docs package: a fixed list, so no path from a URL reaches the disk."""

MAX_INPUT_MARKER = 'data-max-input=""'
"""The attribute in index.html that receives the server's input limit."""

router = APIRouter(include_in_schema=False)


def docs_assets_dir() -> Path:
    """The directory of the installed Swagger UI / ReDoc bundles (the `fastapi-offline` package)."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"


@router.get("/")
async def index(request: Request) -> HTMLResponse:
    """The chat page, with this server's input limit filled in; its script and stylesheet come from /static/."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    limit = request.app.state.services.settings.max_input_chars
    page = page.replace(MAX_INPUT_MARKER, f'data-max-input="{html.escape(str(int(limit)))}"', 1)
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """The icon browsers ask for on every site, whatever the page links (a missing one is a 404 per visit)."""
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI for this app's OpenAPI schema, every asset local."""
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}/favicon.ico",
        oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
    )


@router.get("/docs/oauth2-redirect")
async def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 helper page (FastAPI's own; it loads nothing from outside)."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc for this app's OpenAPI schema, every asset local (no web fonts)."""
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{DOCS_ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{root}/favicon.ico",
        with_google_fonts=False,
    )


@router.get(DOCS_ASSETS_URL + "/{name}")
async def docs_asset(name: str) -> Response:
    """One of the docs bundles; anything not in DOCS_ASSETS is a 404."""
    media_type = DOCS_ASSETS.get(name)
    if media_type is None:
        raise ApiError(404, "not_found", f"No docs asset {name!r}.")
    return FileResponse(docs_assets_dir() / name, media_type=media_type,
                        headers={"Cache-Control": "public, max-age=86400"})
