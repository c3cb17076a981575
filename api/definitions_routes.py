"""The shared definitions, readable from the running platform: JSON for systems, HTML for people."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse

from definitions import load_catalogue
from definitions.docs import render_catalogue

router = APIRouter(tags=["Definitions"])


@router.get("/v1/definitions", summary="Every definition, newest version; or all versions of one")
async def definitions(
    code: Annotated[str | None, Query(description="one item code: all its versions")] = None,
    sector: Annotated[str | None, Query(description="only this sector's items")] = None,
) -> list[dict[str, Any]]:
    """Definitions as JSON, in the shape of schemas/definition.schema.json."""
    catalogue = load_catalogue()
    if code is not None:
        versions = catalogue.versions(code)
        if not versions:
            raise HTTPException(404, f"no definition with code {code!r}")
        return [v.model_dump(mode="json", exclude_defaults=True) for v in versions]
    return [d.model_dump(mode="json", exclude_defaults=True) for d in catalogue.current_all()
            if sector is None or d.sector == sector]


@router.get("/catalogue", response_class=HTMLResponse, summary="The definitions as a web page")
async def catalogue_page() -> HTMLResponse:
    """The browsable catalogue that `make docs` also writes to docs/catalogue.html."""
    return HTMLResponse(render_catalogue(load_catalogue()))
