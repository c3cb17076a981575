"""The ZCV console: one web page and its static files, open to anyone (`Public`).

The page holds no data: it signs in with a bearer token that the user pastes (kept in the
browser's sessionStorage, never in a URL) and reads everything else from the JSON API and
`/v1/stream` with that token. What the board shows is declared in `api/console_layout.py`.
Our own scripts and styles live in `api/console/assets/` (in git); third-party browser code is
vendored from npm into `api/console/vendor/` by `make install` (not in git).
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from api.access import Public, add_route
from api.console_layout import board_config
from core.mobile_units import UNIT_KINDS
from core.refusals import NotFound
from core.settings import Settings
from definitions import load_catalogue

CONSOLE_DIR = Path(__file__).resolve().parent / "console"
ASSETS_DIR = CONSOLE_DIR / "assets"
VENDOR_DIR = CONSOLE_DIR / "vendor"
CONFIG_MARKER = "__CONSOLE_CONFIG__"
# No page of ours is cached stale after an upgrade; files revalidate by ETag.
REVALIDATE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
MEDIA_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
               ".map": "application/json", ".png": "image/png", ".svg": "image/svg+xml"}


def page_config(settings: Settings) -> dict[str, object]:
    """What the page needs besides the API: the tile server and the board's layout."""
    return {"tile_url": settings.console_tile_url,
            "tile_attribution": settings.console_tile_attribution,
            "unit_kinds": [{"kind": k.kind, "letter": k.letter, "label": k.label}
                           for k in UNIT_KINDS.values()],
            **board_config(load_catalogue())}


def content_security_policy(tile_url: str) -> str:
    """Scripts and data only from this origin; images also from the tile server. A token in
    sessionStorage is only as safe as the page is from injected scripts."""
    parts = urlsplit(tile_url)
    tiles = f"{parts.scheme}://{parts.netloc}"
    return ("default-src 'self'; script-src 'self'; connect-src 'self'; "
            f"img-src 'self' data: {tiles}; style-src 'self'; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def render_page(settings: Settings) -> str:
    """The console's HTML with its configuration inlined as JSON (not executed)."""
    config = json.dumps(page_config(settings), separators=(",", ":"))
    # Inside <script type="application/json"> only "</" could end the element early.
    safe = config.replace("<", "\\u003c")
    return (CONSOLE_DIR / "index.html").read_text(encoding="utf-8").replace(CONFIG_MARKER, safe)


async def console_page(request: Request) -> HTMLResponse:
    """The ZCV console (sign in with a ZCV token)."""
    settings: Settings = request.app.state.settings
    return HTMLResponse(render_page(settings), headers={
        **REVALIDATE, "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": content_security_policy(settings.console_tile_url)})


def static_file(root: Path, path: str) -> FileResponse:
    """A file under `root`; NotFound for anything else (no way out of the folder)."""
    base = root.resolve()
    target = (base / path).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        raise NotFound(f"no console file {path!r}", "path")
    media = MEDIA_TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
    return FileResponse(target, media_type=media or "application/octet-stream",
                        headers=REVALIDATE)


async def console_asset(path: str) -> FileResponse:
    """The console's own scripts and styles."""
    return static_file(ASSETS_DIR, path)


async def console_vendor(path: str) -> FileResponse:
    """Third-party browser code (Leaflet) vendored by `make install`."""
    return static_file(VENDOR_DIR, path)


def router() -> APIRouter:
    """The console page and its static files."""
    built = APIRouter()
    add_route(built, "/console", console_page, methods=["GET"], response_class=HTMLResponse,
              include_in_schema=False, rule=Public("read console"))
    add_route(built, "/console/assets/{path:path}", console_asset, methods=["GET"],
              include_in_schema=False, rule=Public("read console"))
    add_route(built, "/console/vendor/{path:path}", console_vendor, methods=["GET"],
              include_in_schema=False, rule=Public("read console"))
    return built
