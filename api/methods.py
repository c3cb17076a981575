"""Which methods a path takes: the `Allow` header of a 405, and the answer to OPTIONS.

Starlette names only the methods of the first route that matched the path; a path served by
several routes (GET and PUT of a FHIR resource, say) takes the methods of all of them.
"""

from __future__ import annotations

from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.routing import compile_path


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app takes at the request's path, and OPTIONS; empty
    when no route has the path at all."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        if route.path is None or not route.methods:
            continue
        pattern, _, _ = compile_path(route.path)
        if pattern.match(request.url.path):
            methods.update(route.methods)
    return sorted(methods | {"OPTIONS"}) if methods else []


def allow_header(request: Request) -> dict[str, str]:
    """The `Allow` header for the request's path."""
    return {"Allow": ", ".join(allowed_methods(request))}
