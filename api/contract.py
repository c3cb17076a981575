"""What the OpenAPI document promises: every body an operation reads, every answer it gives.

Every refusal of the API is a FHIR OperationOutcome (`api/errors.py`), so every error response
in the document has that one schema. Which refusals an operation can give follows from what
the route is, worked out here once when the route is added (`answers_of`):

- 401 / 403 / 429 when it needs a token (the route's rule, `api/access.py`);
- 400 when it has path or query parameters: one holding a NUL character is refused before
  routing (`api/limits.py`); besides, 422 (the JSON API) when they can break a rule;
- 400 / 413 / 415 / 422 when it reads a body: malformed, too large, of a content type it does
  not take, or well-formed but against a rule;
- 503 when it needs the database (every route with a token does: revocations are looked up).

What only a handler knows (404 for a thing not registered) the route declares itself with
`responses=`. `document` then builds the OpenAPI document: the OperationOutcome schema in
the components, every error response pointing at it, request-body schemas with `$defs` moved
into the components, no trace of FastAPI's own `HTTPValidationError`, and every free-text
parameter and every free-text string of a JSON body saying that it holds no NUL character
(`NUL_FREE`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from api.deps import get_pool, get_producer
from api.fhir_body import FHIR_JSON

OUTCOME = "OperationOutcome"
OUTCOME_REF = {"$ref": f"#/components/schemas/{OUTCOME}"}
COMPONENT_PREFIX = "#/components/schemas/"


class FhirJSONResponse(JSONResponse):
    """A FHIR JSON answer (resource, Bundle or OperationOutcome): `application/fhir+json`."""

    media_type = FHIR_JSON


class OutcomeCoding(BaseModel):
    """The declared rule an issue is about (its code system is the platform's rules)."""

    system: str
    code: str
    version: str | None = None


class OutcomeDetails(BaseModel):
    """A coded detail: the rule's id and its statement."""

    coding: list[OutcomeCoding] = Field(default_factory=list)
    text: str | None = None


class OutcomeIssue(BaseModel):
    """One finding: how bad, of which type, where (`expression`), and why (`diagnostics`)."""

    model_config = ConfigDict(extra="allow")

    severity: Literal["fatal", "error", "warning", "information"]
    code: str = Field(description="FHIR issue type (http://hl7.org/fhir/issue-type), e.g. "
                                  "invalid, structure, value, not-found, forbidden, throttled")
    diagnostics: str | None = Field(None, description="the rule, in words a person can act on")
    expression: list[str] = Field(
        default_factory=list,
        description="the elements concerned: a FHIRPath or `body.<field>` into the message, "
                    "or the name of a query parameter")
    details: OutcomeDetails | None = Field(
        None, description="the declared consistency rule the issue breaks, when there is one")


class OperationOutcome(BaseModel):
    """The FHIR R4 OperationOutcome every refusal (and every accepted push) is answered with."""

    model_config = ConfigDict(extra="allow", title=OUTCOME)

    resourceType: Literal["OperationOutcome"]  # noqa: N815 (FHIR's element name)
    issue: list[OutcomeIssue] = Field(min_length=1)


# What each refusal means, for the document; `api/errors.py` gives the bodies.
ERRORS: dict[int, str] = {
    400: "not what the endpoint reads: malformed JSON, FHIR or CSV, or a parameter that does "
         "not parse; the OperationOutcome names the element and the rule",
    401: "no valid access token (missing, expired, badly signed, revoked), with "
         "`WWW-Authenticate: Bearer`",
    403: "the token is valid but this act is not allowed; the OperationOutcome says why",
    404: "what the request names is not registered (or not the caller's to know of)",
    409: "the request collides with the current state",
    413: "the body is larger than this endpoint takes",
    415: "the body's Content-Type is not one this endpoint takes",
    422: "well-formed, but a value or reference breaks a platform rule; the OperationOutcome "
         "names the element and the rule",
    429: "the client's rate limit is exceeded; retry after `Retry-After` seconds",
    503: "a part the platform needs (database, broker) is away and nothing was done; retry "
         "after `Retry-After` seconds",
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer realm=\"zorgcapaciteit\"`, with "
                                              "`error=\"invalid_token\"` for a bad token",
                               "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
}
BODY_ERRORS = (400, 413, 415, 422)
# No path or query parameter may hold a NUL character (`api/limits.py` refuses it with 400):
# the pattern of every string parameter that has no stricter rule of its own.
NUL_FREE = "^[^\\x00]*$"


def refusal(status: int, description: str | None = None) -> dict[str, Any]:
    """One declared error response (its content, the OperationOutcome, is added by
    `document`)."""
    return {"description": description or ERRORS[status]}


def named(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` as a component called `name` (moved there by `document`), referred to."""
    return {"$defs": {name: schema}, "$ref": f"#/$defs/{name}"}


def fhir_content(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A declared answer with a FHIR JSON body of `schema`."""
    return {"description": description, "content": {FHIR_JSON: {"schema": schema}}}


def _calls(dependant: Dependant) -> Iterator[Any]:
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _has_target_parameters(dependant: Dependant) -> bool:
    if dependant.path_params or dependant.query_params:
        return True
    return any(_has_target_parameters(sub) for sub in dependant.dependencies)


def _has_parameters(dependant: Dependant) -> bool:
    # The token and the device key are read by the security schemes without declared
    # parameters: a bad one is a 401 of the access rule, never a 400.
    if dependant.path_params or dependant.query_params or dependant.header_params:
        return True
    return any(_has_parameters(sub) for sub in dependant.dependencies)


def takes_body(route: APIRoute) -> bool:
    """True when the route reads a request body (a model parameter, or one it reads itself
    and declares in `openapi_extra`)."""
    return route.body_field is not None or "requestBody" in (route.openapi_extra or {})


def answers_of(route: APIRoute, *, protected: bool) -> dict[int | str, dict[str, Any]]:
    """The refusals `route` can answer besides those of its access rule, by what it is."""
    statuses: set[int] = set()
    if _has_target_parameters(route.dependant) or "parameters" in (route.openapi_extra or {}):
        statuses.add(400)
    if protected and _has_parameters(route.dependant) and not route.path.startswith("/fhir"):
        statuses.add(422)
    if protected and takes_body(route):
        statuses.update(BODY_ERRORS)
    if any(call in (get_pool, get_producer) for call in _calls(route.dependant)):
        statuses.add(503)
    return {status: refusal(status) for status in sorted(statuses)}


def _schemas() -> dict[str, Any]:
    found = OperationOutcome.model_json_schema(ref_template=COMPONENT_PREFIX + "{model}")
    defs = found.pop("$defs", {})
    return {OUTCOME: found, **defs}


def _rewrite_refs(node: Any) -> Any:
    """`#/$defs/X` → `#/components/schemas/X` throughout `node` (in place)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = COMPONENT_PREFIX + ref.removeprefix("#/$defs/")
        for value in node.values():
            _rewrite_refs(value)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value)
    return node


def _hoist(schema: dict[str, Any], components: dict[str, Any]) -> None:
    """Move a body schema's `$defs` into the components, where its refs then point."""
    for name, definition in schema.pop("$defs", {}).items():
        definition = _rewrite_refs(definition)
        if components.setdefault(name, definition) != definition:
            raise ValueError(f"two different body schemas are both named {name}")
    for meta in ("$schema", "$id"):
        schema.pop(meta, None)
    _rewrite_refs(schema)


def _placeholder(content: dict[str, Any] | None) -> bool:
    return not content or all(not media.get("schema") for media in content.values())


def _operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for operations in document.get("paths", {}).values():
        yield from operations.values()


def _complete(operation: dict[str, Any], components: dict[str, Any]) -> None:
    for media in operation.get("requestBody", {}).get("content", {}).values():
        if isinstance(media.get("schema"), dict):
            _hoist(media["schema"], components)
    for status, response in operation.get("responses", {}).items():
        for media in (response.get("content") or {}).values():
            if isinstance(media.get("schema"), dict):
                _hoist(media["schema"], components)
        code = int(status) if status.isdigit() else 0
        if code < 400:
            continue
        if _placeholder(response.get("content")):
            response["content"] = {FHIR_JSON: {"schema": dict(OUTCOME_REF)}}
            response["description"] = response.get("description") or ERRORS.get(code, "")
        if code in HEADERS:
            response.setdefault("headers", copy.deepcopy(HEADERS[code]))


def _nul_free(schema: dict[str, Any]) -> None:
    for branch in schema.get("anyOf", []):
        _nul_free(branch)
    if isinstance(schema.get("items"), dict):
        _nul_free(schema["items"])
    if schema.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(schema):
        schema["pattern"] = NUL_FREE


# The keywords under which a JSON Schema holds further schemas, one or a list or a map of them.
_SUBSCHEMAS = ("items", "additionalProperties", "not", "if", "then", "else")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs")


def _nul_free_throughout(schema: Any, components: dict[str, Any], seen: set[str]) -> None:
    """Every free-text string of a JSON body schema NUL-free, through its refs: the strict
    JSON reader (`core/input_limits.py`) refuses a NUL character in any string of any body."""
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(COMPONENT_PREFIX):
        name = ref.removeprefix(COMPONENT_PREFIX)
        if name not in seen:
            seen.add(name)
            _nul_free_throughout(components.get(name), components, seen)
    if schema.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(schema):
        schema["pattern"] = NUL_FREE
    if ((schema.get("type") == "object" or "properties" in schema)
            and schema.get("additionalProperties") is not False
            and "propertyNames" not in schema):  # a key the schema does not name is free text
        schema["propertyNames"] = {"pattern": NUL_FREE}
    for key in _SUBSCHEMAS:
        _nul_free_throughout(schema.get(key), components, seen)
    for key in _SUBSCHEMA_LISTS:
        for branch in schema.get(key) or []:
            _nul_free_throughout(branch, components, seen)
    for key in _SUBSCHEMA_MAPS:
        for branch in (schema.get(key) or {}).values():
            _nul_free_throughout(branch, components, seen)


def _no_nul_in_json_bodies(operation: dict[str, Any], components: dict[str, Any],
                           seen: set[str]) -> None:
    for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
        if media_type.endswith("json"):
            _nul_free_throughout(media.get("schema"), components, seen)


def _no_nul_in_parameters(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") in ("path", "query") and isinstance(parameter.get("schema"), dict):
            _nul_free(parameter["schema"])


def _drop_fastapi_422(operation: dict[str, Any]) -> None:
    """FastAPI adds a 422 of its own to any operation with parameters that declares none; the
    platform answers those with 400 on its FHIR paths (`api/errors.py`), and declares every
    422 it gives itself."""
    responses = operation.get("responses", {})
    schema = responses.get("422", {}).get("content", {}).get("application/json", {}).get(
        "schema", {})
    if str(schema.get("$ref", "")).endswith("/HTTPValidationError"):
        del responses["422"]


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, built once: request bodies and every answer declared, every
    error an OperationOutcome."""
    if app.openapi_schema:
        return app.openapi_schema
    built = get_openapi(title=app.title, version=app.version, summary=app.summary,
                        description=app.description, routes=app.routes)
    components = built.setdefault("components", {}).setdefault("schemas", {})
    components.update(_schemas())
    for operation in _operations(built):
        _drop_fastapi_422(operation)
        _no_nul_in_parameters(operation)
        _complete(operation, components)
    seen: set[str] = set()  # after every body is hoisted: they share components
    for operation in _operations(built):
        _no_nul_in_json_bodies(operation, components, seen)
    text = repr(built["paths"])
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"/{unused}'" not in text:
            components.pop(unused, None)
    app.openapi_schema = built
    return built
