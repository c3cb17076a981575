"""Every route declares who may call it: walked over the whole app, so none can be forgotten."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api.access import ADMIN, Access, DeclaredRoute, Public, add_route, declared_routes
from api.app import create_app
from core.settings import Settings

# The list of what anyone may call without a token; nothing else.
PUBLIC = {("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/openapi.json"), ("GET", "/docs"),
          ("GET", "/docs/oauth2-redirect"), ("GET", "/catalogue"),
          ("GET", "/.well-known/jwks.json"), ("POST", "/oauth/token"),
          # A FHIR server's CapabilityStatement: no data, read before a client has a token.
          ("GET", "/fhir/metadata"),
          # The console page and its files hold no data: it reads the API with the user's token.
          ("GET", "/console"), ("GET", "/console/assets/{path:path}"),
          ("GET", "/console/vendor/{path:path}")}


def undeclared(routes: list[DeclaredRoute]) -> list[str]:
    """Routes without exactly one access rule."""
    return [f"{sorted(r.methods)} {r.path}" for r in routes if len(r.rules) != 1]


def test_every_route_of_the_app_declares_exactly_one_rule() -> None:
    routes = declared_routes(create_app(Settings()))
    assert len(routes) > 40
    assert undeclared(routes) == []


def test_a_route_added_without_a_rule_is_caught() -> None:
    app = create_app(Settings())
    forgotten = APIRouter()
    forgotten.add_api_route("/v1/forgotten", lambda: {}, methods=["GET"])
    app.include_router(forgotten)
    assert undeclared(declared_routes(app)) == ["['GET'] /v1/forgotten"]


def test_only_the_listed_endpoints_are_public() -> None:
    routes = declared_routes(create_app(Settings()))
    public = {(method, r.path) for r in routes for method in r.methods
              if isinstance(r.rules[0], Public)}
    assert public == PUBLIC


def test_every_protected_operation_declares_its_security_and_refusals() -> None:
    document = create_app(Settings()).openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["oauth2"]["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"
    assert schemes["deviceKey"] == {"type": "apiKey", "name": "key", "in": "query",
                                    "description": schemes["deviceKey"]["description"]}
    public_paths = {path for _, path in PUBLIC}
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path in public_paths:
                assert "security" not in operation, (method, path)
                continue
            assert {"oauth2": []} in operation["security"], (method, path)
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
            checked += 1
    assert checked > 35
    assert {"deviceKey": []} in document["paths"]["/osmand"]["get"]["security"]


def test_rules_are_introspectable_for_the_matrix() -> None:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    router = APIRouter()
    add_route(router, "/x", lambda: {}, methods=["GET"], rule=Access(ADMIN, "read x", "admin"))
    app.include_router(router)
    (route,) = declared_routes(app)
    assert route.rules[0].roles == {"admin"} and route.rules[0].kind == "admin"
