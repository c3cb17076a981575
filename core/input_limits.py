"""Limits on the form of what a client sends, checked before any adapter reads it.

JSON is read strictly: valid UTF-8, no duplicate keys (a second value would silently win), at
most `max_depth` levels of objects and arrays, no string longer than `max_string_chars`, no
number written with more than `max_number_chars` characters (a 5,000-digit integer is nobody's
bed count and costs quadratic time to convert), no NaN or Infinity, and no NUL character or lone
surrogate anywhere (PostgreSQL cannot store either in text or JSON, and a surrogate cannot even
be encoded as UTF-8). CSV text has at most `max_rows` rows and no cell longer than
`max_cell_chars`. Each refusal names the element (a FHIRPath-like path, or the CSV row and
column) and the rule. Pure: no I/O, no settings read here.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import Any

from core.refusals import Invalid, Issue, IssueType, TooLarge, error

# Characters no text of the platform may hold: NUL, and UTF-16 surrogates on their own.
FORBIDDEN_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
# A JSON string (with its quotes), and escapes that decode to a forbidden character.
ESCAPED_FORBIDDEN = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
INFINITY = float("inf")
PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
# At most this many issues are reported for one body: enough to fix it, short to answer.
MAX_ISSUES = 10


@dataclass(frozen=True)
class InputLimits:
    """The limits on one request's content (defaults: the settings' defaults)."""

    max_depth: int = 32
    max_string_chars: int = 10_000
    max_number_chars: int = 32
    max_rows: int = 10_000
    max_cell_chars: int = 1_024


class _Refused:
    """A parsed value the walk refuses, kept in place so the refusal can name its element."""

    __slots__ = ("rule",)

    def __init__(self, rule: str) -> None:
        self.rule = rule


class _WithDuplicates(dict[str, Any]):
    """A JSON object that named a key twice."""

    duplicates: list[str]


def escape_forbidden(text: str) -> str:
    """`text` with each NUL or lone surrogate written as its escape (`\\u0000`): safe to
    store, log and answer, for text that repeats what a client sent."""
    if FORBIDDEN_CHARACTERS.search(text) is None:
        return text
    return FORBIDDEN_CHARACTERS.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _describe(text: str) -> str:
    return "a NUL character (\\u0000)" if "\x00" in text else "a lone UTF-16 surrogate"


def forbidden_character(text: str) -> str | None:
    """What `text` holds that no text of the platform may (a NUL or a lone surrogate), in
    words; None when it holds neither."""
    return _describe(text) if FORBIDDEN_CHARACTERS.search(text) else None


def _segment(key: str) -> str:
    # Keys are named as written when plain; otherwise escaped (never echoing a NUL).
    return f".{key}" if PLAIN_KEY.match(key) else f"[{json.dumps(key[:60])}]"


def _path(root: str, parts: tuple[str | int, ...]) -> str:
    return root + "".join(f"[{p}]" if isinstance(p, int) else _segment(p) for p in parts)


class _Walk:
    """One pass over parsed JSON, collecting what breaks the limits."""

    def __init__(self, limits: InputLimits, root: str) -> None:
        self.limits = limits
        self.root = root
        self.issues: list[Issue] = []

    def note(self, code: IssueType, parts: tuple[str | int, ...], rule: str) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(error(code, _path(self.root, parts), rule))

    def text(self, value: str, parts: tuple[str | int, ...], what: str) -> None:
        if len(value) > self.limits.max_string_chars:
            self.note("too-long", parts, f"{what} is {len(value):,} characters long; at most "
                      f"{self.limits.max_string_chars:,} are taken")
        elif FORBIDDEN_CHARACTERS.search(value):
            self.note("invalid", parts, f"{what} holds {_describe(value)}, which no text may "
                      "hold")

    def run(self, top: Any) -> list[Issue]:
        # Iterative: the depth is bounded by the limit, not by the interpreter's stack.
        pending: list[tuple[Any, tuple[str | int, ...], int]] = [(top, (), 1)]
        while pending and len(self.issues) < MAX_ISSUES:
            value, parts, depth = pending.pop()
            if isinstance(value, dict | list) and depth > self.limits.max_depth:
                self.note("too-long", parts, f"nested {depth} levels deep; at most "
                          f"{self.limits.max_depth} levels of objects and arrays are taken")
            elif isinstance(value, dict):
                pending += self.members(value, parts, depth)
            elif isinstance(value, list):
                pending += [(item, (*parts, i), depth + 1)
                            for i, item in reversed(list(enumerate(value)))]
            elif isinstance(value, str):
                self.text(value, parts, "the text")
            elif isinstance(value, _Refused):
                self.note("invalid", parts, value.rule)
        return self.issues

    def members(self, value: dict[str, Any], parts: tuple[str | int, ...],
                depth: int) -> list[tuple[Any, tuple[str | int, ...], int]]:
        if isinstance(value, _WithDuplicates):
            for key in value.duplicates:
                self.note("structure", (*parts, key), f"key {json.dumps(key[:60])} is given "
                          "more than once; give each key once")
        for key in value:
            self.text(key, (*parts, key), "the key")
        return [(item, (*parts, key), depth + 1) for key, item in reversed(value.items())]


class _Parse:
    """json.loads with hooks that note what the walk must name: a key given twice, a number
    too long or not finite."""

    def __init__(self, limits: InputLimits) -> None:
        self.limits = limits
        self.suspect = False

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        built = dict(pairs)
        if len(built) == len(pairs):
            return built
        self.suspect = True
        flagged = _WithDuplicates(built)
        seen: set[str] = set()
        flagged.duplicates = []
        for key, _ in pairs:
            if key in seen:
                flagged.duplicates.append(key)
            seen.add(key)
        return flagged

    def number(self, convert: type[int] | type[float]) -> Any:
        def read(text: str) -> Any:
            if len(text) > self.limits.max_number_chars:
                self.suspect = True
                return _Refused(f"a number written with {len(text):,} characters; at most "
                                f"{self.limits.max_number_chars} are taken")
            number = convert(text)
            if number in (INFINITY, -INFINITY):
                self.suspect = True
                return _Refused(f"{text} is too large for a number")
            return number
        return read

    def constant(self, text: str) -> _Refused:
        self.suspect = True
        return _Refused(f"{text} is not a JSON number")

    def loads(self, text: str) -> Any:
        return json.loads(text, object_pairs_hook=self.object, parse_int=self.number(int),
                          parse_float=self.number(float), parse_constant=self.constant)


def _depth(text: str) -> int:
    """How deep objects and arrays nest in JSON text (strings left out), without parsing.

    Escaped backslashes, then escaped quotes, are dropped, so that every quote left opens or
    closes a string, as the parser reads them: what lies outside strings is every other piece
    between quotes (string operations, several times faster than a regular expression over
    the strings). Text that is not JSON may be measured differently than it would be parsed;
    the parser refuses it anyway, at the first place it is not JSON."""
    outside = "".join(text.replace("\\\\", "").replace('\\"', "").split('"')[0::2])
    brackets = NOT_BRACKETS.sub("", outside)
    return max(accumulate(map(BRACKET_STEP.__getitem__, brackets)), default=0)


@lru_cache(maxsize=4)
def _long_string(longest: int) -> re.Pattern[str]:
    # An escape counts as more than the one character it decodes to: never too short.
    return re.compile(r'"(?:[^"\\]|\\.){' + str(longest + 1) + ',}"', re.DOTALL)


def _may_break_text_limits(text: str, limits: InputLimits) -> bool:
    """False when no string of the text can hold a NUL, a lone surrogate or too many
    characters: most bodies, which then need no walk over every element."""
    if ESCAPED_FORBIDDEN.search(text):
        return True
    longest = limits.max_string_chars
    return len(text) > longest and _long_string(longest).search(text) is not None


def read_json(body: bytes, limits: InputLimits, root: str = "body") -> Any:
    """The JSON value of `body`, or Invalid naming each element that breaks a limit.

    Elements are named from `root` ("body"), or from the resource type when the body is a FHIR
    resource (`MeasureReport.group[0].population[1].count`)."""
    try:
        text = body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise Invalid([error("invalid", root, f"the body is not UTF-8: {exc}")]) from None
    depth = _depth(text)
    if depth > limits.max_depth * 4:  # far too deep to parse at all: name the body
        raise Invalid([error("too-long", root, f"nested {depth:,} levels deep; at most "
                             f"{limits.max_depth} levels of objects and arrays are taken")])
    parse = _Parse(limits)
    try:
        value = parse.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid([error("structure", root, f"the body is not JSON: {exc}")]) from None
    named = value.get("resourceType") if isinstance(value, dict) else None
    if isinstance(named, str) and RESOURCE_TYPE.match(named):
        root = named
    if parse.suspect or depth > limits.max_depth or _may_break_text_limits(text, limits):
        issues = _Walk(limits, root).run(value)
        if issues:
            raise Invalid(issues)
    return value


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text), delimiter=";")
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as exc:
        # The csv module's own cap on a field (128 KiB) is far above the platform's limit.
        code: IssueType = "too-long" if "field limit" in str(exc) else "structure"
        raise Invalid([error(code, f"row {reader.line_num}",
                             f"not readable as CSV: {exc}")]) from None


def _column(header: list[str] | None, index: int) -> str:
    name = header[index].strip() if header is not None and index < len(header) else ""
    return name if name and len(name) <= 40 and not FORBIDDEN_CHARACTERS.search(name) \
        else str(index + 1)


def check_csv(text: str, limits: InputLimits) -> None:
    """TooLarge when the text has more than `max_rows` rows; Invalid naming the row and column
    of a cell longer than `max_cell_chars`, or of text that holds a NUL character."""
    if "\x00" in text:
        row = text.count("\n", 0, text.index("\x00")) + 1
        raise Invalid([error("invalid", f"row {row}", "holds a NUL character (\\u0000), which "
                             "no text may hold")])
    header: list[str] | None = None
    issues: list[Issue] = []
    count = 0
    for row, cells in _records(text):
        count += 1 if cells else 0
        if count > limits.max_rows:
            raise TooLarge([error("too-long", f"row {row}", f"more than {limits.max_rows:,} "
                                  "rows; send at most that many per file")])
        if header is None and cells and not cells[0].startswith("#"):
            header = cells
        if max(map(len, cells), default=0) <= limits.max_cell_chars:
            continue
        issues += [error("too-long", f"row {row}, column {_column(header, i)}",
                         f"a cell of {len(cell):,} characters; at most "
                         f"{limits.max_cell_chars:,} are taken")
                   for i, cell in enumerate(cells) if len(cell) > limits.max_cell_chars]
        if len(issues) >= MAX_ISSUES:
            break
    if issues:
        raise Invalid(issues[:MAX_ISSUES])
