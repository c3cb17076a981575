"""Reading request bodies ourselves (FHIR, JSON, CSV): every refusal is an OperationOutcome.

Each reader checks the Content-Type first (415), reads the body within its endpoint's limit
(413, `api/limits.py`), then parses it strictly (`core/input_limits.py`: duplicate keys, nesting,
text and number sizes, NUL characters and lone surrogates, CSV rows and cells; 400 naming the
element) — large bodies in the pool of parsing threads, off the event loop.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from adapters import AdapterError
from adapters.base import error
from api.limits import (
    CSV_MEDIA_TYPES,
    FHIR_MEDIA_TYPES,
    JSON_MEDIA_TYPES,
    check_media_type,
    limits_of,
    parse,
)
from api.outcome import FHIR_JSON as FHIR_JSON
from core.input_limits import InputLimits, check_csv, forbidden_character, read_json
from core.refusals import IssueType

M = TypeVar("M", bound=BaseModel)


class JsonBody(BaseModel):
    """A JSON body the API takes: unknown members refused, and every value of the JSON type the
    schema names, as the OpenAPI document says (no 0 or "true" for a boolean, no "5" for a
    number: pydantic's lax coercions are off). Every request-body model derives from it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_forbidden_character(cls, value: Any) -> Any:
        """No text holds a NUL or a lone surrogate, as in every body the strict reader reads
        (the document's NUL-free pattern): FastAPI reads these bodies itself."""
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and (found := forbidden_character(text)):
                raise ValueError(f"the text holds {found}, which no text may hold")
        return value


async def json_value(request: Request, accepted: tuple[str, ...], root: str) -> Any:
    """The body as strictly read JSON, elements named from `root`; 415/413/400 otherwise."""
    check_media_type(request, accepted)
    body = await request.body()
    limits = limits_of(request)
    return await parse(limits, len(body), read_json, body, limits.content, root)


def _object(value: Any, root: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AdapterError([error("structure", root, "the body must be a JSON object")])
    return value


async def fhir_body(request: Request, resource_type: str) -> dict[str, Any]:
    """The request body as a JSON object (FHIR JSON media types), or a refusal; elements are
    named from the body's resourceType (else `resource_type`)."""
    return _object(await json_value(request, FHIR_MEDIA_TYPES, resource_type), resource_type)


async def json_object_body(request: Request, root: str = "body") -> dict[str, Any]:
    """The request body as a JSON object (application/json), or a refusal."""
    return _object(await json_value(request, JSON_MEDIA_TYPES, root), root)


def _csv_text(body: bytes, limits: InputLimits) -> str:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AdapterError([error("invalid", "body", f"CSV must be UTF-8: {exc}")]) from None
    check_csv(text, limits)
    return text


async def csv_body(request: Request) -> str:
    """The request body as CSV text (text/csv, UTF-8) within the row and cell limits."""
    check_media_type(request, CSV_MEDIA_TYPES)
    body = await request.body()
    limits = limits_of(request)
    return await parse(limits, len(body), _csv_text, body, limits.content)


def fhir_request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI for a FHIR JSON body of `schema` (the handler reads the raw body itself)."""
    return {"requestBody": {"required": True, "content": {
        FHIR_JSON: {"schema": schema}, "application/json": {"schema": schema}}}}


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def unreadable(request: Request, kind: str) -> IssueType:
    """The issue type of a parameter or body field that does not fit what the endpoint reads
    (`kind`: pydantic's error type), whoever validated it (FastAPI, or `json_body`): 400 on a
    FHIR endpoint (a FHIR server answers a request it cannot process 400, never 422) and for a
    body that is not JSON; on the JSON endpoints 422, a value that breaks a rule."""
    if kind in ("json_invalid", "json_type"):
        return "structure"
    if request.url.path.startswith("/fhir/"):
        return "invalid"
    return "required" if kind == "missing" else "value"


async def json_body(request: Request, model: type[M]) -> M:
    """The request body as JSON validated by `model`; Invalid naming each bad element.

    Read by the handler itself, after the route's access rule, so that a caller without a token
    learns nothing about the body's shape."""
    payload = await json_value(request, JSON_MEDIA_TYPES, "body")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise AdapterError([error(unreadable(request, e["type"]), _location(e["loc"]), e["msg"])
                            for e in exc.errors()]) from None


def json_request_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """OpenAPI for a JSON body the handler reads itself with `json_body` (`required=False`: the
    body may be left out, but one that is sent is an object of `model`, never null)."""
    return {"requestBody": {"required": required, "content": {
        "application/json": {"schema": model.model_json_schema()}}}}
