"""The shared definitions, readable from the running platform: JSON for systems, HTML for people."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.access import REGISTRATION_READERS, Access, Public, add_route
from api.contract import refusal
from core.refusals import NotFound
from definitions import load_catalogue
from definitions.docs import render_catalogue


async def definitions(
    code: Annotated[str | None, Query(description="one item code: all its versions")] = None,
    sector: Annotated[str | None, Query(description="only this sector's items")] = None,
) -> list[dict[str, Any]]:
    """Definitions as JSON, in the shape of schemas/definition.schema.json."""
    catalogue = load_catalogue()
    if code is not None:
        versions = catalogue.versions(code)
        if not versions:
            raise NotFound(f"no definition with code {code!r}", "code")
        return [v.model_dump(mode="json", exclude_defaults=True) for v in versions]
    return [d.model_dump(mode="json", exclude_defaults=True) for d in catalogue.current_all()
            if sector is None or d.sector == sector]


async def catalogue_page() -> HTMLResponse:
    """The browsable catalogue that `make docs` also writes to docs/catalogue.html."""
    return HTMLResponse(render_catalogue(load_catalogue()))


def router() -> APIRouter:
    """The definitions: JSON for every signed-in system, the page for everyone."""
    built = APIRouter(tags=["Definitions"])
    add_route(built, "/v1/definitions", definitions, methods=["GET"],
              summary="Every definition, newest version; or all versions of one",
              responses={404: refusal(404, "no definition with this code")},
              rule=Access(REGISTRATION_READERS, "read definitions", "read"))
    add_route(built, "/catalogue", catalogue_page, methods=["GET"], response_class=HTMLResponse,
              summary="The definitions as a web page", rule=Public("read catalogue"))
    return built
