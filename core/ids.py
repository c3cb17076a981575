"""The one rule for the ids the platform keeps: FHIR logical ids (R4: 1 to 64 of `A-Z a-z 0-9
- .`). Locations, organisations, healthcare services and mobile units are named by one; the
path parameters, the request-body schemas and the validation all use these two constants."""

from __future__ import annotations

import re

ID_CHARS = r"[A-Za-z0-9\-\.]{1,64}"  # to build a pattern with (`Location/<id>`)
ID_PATTERN = rf"^{ID_CHARS}$"  # an id alone, anchored: OpenAPI and pydantic `pattern`
ID = re.compile(ID_CHARS)  # ID.fullmatch (in Python `$` also matches before a final newline)
