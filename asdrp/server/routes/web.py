"""The web chat page at `/`: static files, no build step."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    """The chat page; its script and stylesheet are served from /static/."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})
