"""VVT beds per care type as CSV: the spreadsheet an ELV coordination point keeps.

Semicolon-separated UTF-8 (as Dutch spreadsheet programs export), one row per location and care
type, header `locatie;zorgsoort;beschikbaar;totaal;tijdstip` (columns in any order, names
case-insensitive):

```
locatie;zorgsoort;beschikbaar;totaal;tijdstip
vvt-zonnehuis-elv;ELV laag complex;2;12;2026-11-22T12:00:00+01:00
vvt-zonnehuis-elv;GRZ;;20;2026-11-22T12:00:00+01:00
```

`zorgsoort` is a Dutch name (`ELV laag complex`, `ELV hoog complex`, `ELV palliatief`, `GRZ`,
`Wlz-crisis`) or a code (`elv_low_complex`, ...), case-insensitive. An empty `beschikbaar` or
`totaal` cell is "not reported", never 0. `tijdstip` is ISO 8601; a time without timezone is
read as Dutch local time (Europe/Amsterdam), with a warning, because that is what a spreadsheet
holds. Rows are numbered as in the spreadsheet: the header is row 1.

One file may cover several locations of the organisation (one sheet for all its ELV
departments). The subject of the message (`location_of`) is the location of the first data row,
whose organisation becomes the message's provider. The adapter cannot know which locations
belong to which organisation, so it does not try: the API refuses (422) a message naming any
location that is not registered (`api.ingest`); it checks registration only, not that the other
rows' locations share the first row's organisation and sector. Nothing of a file with a bad row
is stored.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from adapters.base import (
    AdapterError,
    AdapterResult,
    Issue,
    MessageMeta,
    Payload,
    check_observed_at,
    check_value,
    csv_text,
    error,
    observation,
    require_definition,
    warning,
)
from adapters.figures import finish
from adapters.vvt.care_types import accepted_names, bed_codes, care_type_of
from core.messages import Observation

COLUMNS = ("locatie", "zorgsoort", "beschikbaar", "totaal", "tijdstip")
FIGURE_COLUMNS = {"beschikbaar": "available", "totaal": "total"}
HEADER = ";".join(COLUMNS)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WHOLE_NUMBER = re.compile(r"-?\d+")
LOCAL_TIME = "no timezone: read as Europe/Amsterdam local time; add +01:00, +02:00 or Z"


@dataclass(frozen=True)
class Row:
    """One data row: its number in the spreadsheet (header = 1) and cells by column."""

    number: int
    cells: dict[str, str]

    def at(self, column: str) -> str:
        """The expression naming one cell of this row."""
        return f"row {self.number}, column {column}"


def _header(number: int, cells: list[str]) -> list[str]:
    names = [c.strip().lower() for c in cells]
    while names and not names[-1]:  # trailing separators, as spreadsheets sometimes export
        names.pop()
    at = f"row {number}"
    if len(names) == 1 and "," in names[0]:
        raise AdapterError([error("structure", at, f"separate columns with ';', not ',': the "
                                  f"header is {HEADER}")])
    problems = [error("structure", f"{at}, column {name or i + 1}",
                      f"unknown column {name!r}; the header is {HEADER}")
                for i, name in enumerate(names) if name not in COLUMNS]
    problems += [error("required", at, f"missing column {name!r}; the header is {HEADER}")
                 for name in COLUMNS if name not in names]
    problems += [error("structure", f"{at}, column {name}", "column given twice")
                 for name in COLUMNS if names.count(name) > 1]
    if problems:
        raise AdapterError(problems)
    return names


def _lines(text: str, most: int | None = None) -> list[tuple[int, list[str]]]:
    """Every non-blank record (the first `most`) with its row number: its line in the file,
    as a spreadsheet numbers it (the header is row 1)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=";")
    records = (cells for cells in reader if any(c.strip() for c in cells))
    try:
        return [(reader.line_num, cells) for cells in itertools.islice(records, most)]
    except csv.Error as exc:  # an unclosed quote, a cell beyond the csv module's limit
        raise AdapterError([error("structure", f"row {reader.line_num}",
                                  f"not readable as CSV: {exc}")]) from exc


def _cells(number: int, names: list[str], cells: list[str]) -> dict[str, str] | Issue:
    extra = cells[len(names):]
    if len(cells) < len(names) or any(c.strip() for c in extra):
        return error("structure", f"row {number}", f"{len(cells)} cells, but the header has "
                     f"{len(names)} columns ({HEADER})")
    return {name: cell.strip() for name, cell in zip(names, cells, strict=False)}


def table(text: str, most: int | None = None) -> list[Row]:
    """The data rows of the CSV (the first `most`), or AdapterError for a bad header or ragged
    rows."""
    lines = _lines(text, None if most is None else most + 1)
    if not lines:
        raise AdapterError([error("required", "row 1", f"the file is empty; start with the "
                                  f"header {HEADER}")])
    names = _header(*lines[0])
    rows = [(n, _cells(n, names, cells)) for n, cells in lines[1:]]
    if ragged := [cells for _, cells in rows if isinstance(cells, Issue)]:
        raise AdapterError(ragged)
    return [Row(n, cells) for n, cells in rows if isinstance(cells, dict)]


def _count(row: Row, column: str) -> tuple[int | None, Issue | None]:
    text = row.cells[column]
    if not text:
        return None, None
    if not WHOLE_NUMBER.fullmatch(text):
        return None, error("value", row.at(column), f"give a whole number of beds, got {text!r}; "
                           "leave the cell empty when it is not known")
    return int(text), None


def _moment(text: str) -> datetime | None:
    """The moment a `tijdstip` names (local time: Dutch), or None if it names none."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=AMSTERDAM)


def _observed_at(row: Row, meta: MessageMeta) -> tuple[datetime | None, list[Issue]]:
    """The row's `tijdstip`; a local time (no timezone) is Dutch time, with a warning."""
    text = row.cells["tijdstip"]
    if not text:
        return None, [error("required", row.at("tijdstip"), "give the moment the figures were "
                            "true, e.g. 2026-11-22T12:00:00+01:00")]
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None, [error("invalid", row.at("tijdstip"), f"not an ISO 8601 date-time: {text!r}"
                            "; write e.g. 2026-11-22T12:00:00+01:00")]
    issues: list[Issue] = []
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=AMSTERDAM)
        issues.append(warning("value", row.at("tijdstip"), f"{text!r} has {LOCAL_TIME}"))
    if (late := check_observed_at(moment, meta, row.at("tijdstip"))) is not None:
        issues.append(late)
    return moment, issues


def _duplicate(seen: dict[tuple[str, str, datetime], int], first: Observation,
               row: Row) -> Issue | None:
    # Two rows for the same location, care type and moment would overwrite each other.
    earlier = seen.setdefault((first.location_id, first.definition, first.observed_at),
                              row.number)
    if earlier == row.number:
        return None
    return error("business-rule", row.at("zorgsoort"), f"row {earlier} already gives this "
                 "location and care type at the same tijdstip; keep one row")


def _one_per_rule(warnings: list[Issue]) -> list[Issue]:
    # A sheet without timezones has that on every row: say it once, with the rows it is on.
    if len(warnings) < 2:
        return warnings
    rows = ", ".join(w.expression.split(",")[0].removeprefix("row ") for w in warnings)
    return [warning("value", "column tijdstip", f"tijdstip on rows {rows} has {LOCAL_TIME}")]


class VvtBedsCsvAdapter:
    """Semicolon CSV of beds per location and VVT care type -> available and total beds."""

    source_format = "csv/vvt-beds"
    sector = "vvt"
    media_type = "text/csv"
    path = "/v1/vvt/beds.csv"
    subject = "location"
    needs_mapping = False
    summary = "Push VVT beds per location and care type as a semicolon CSV (ELV spreadsheet)"
    examples = Path(__file__).parent / "examples" / "beds_csv"

    def request_schema(self) -> dict[str, Any]:
        """Semicolon-separated UTF-8 text with the header row and one row per care type."""
        return {"type": "string", "description": "UTF-8, `;`-separated; header "
                "`locatie;zorgsoort;beschikbaar;totaal;tijdstip` (any order), one row per "
                "location and care type; an empty figure is not reported",
                "example": "locatie;zorgsoort;beschikbaar;totaal;tijdstip\n"
                           "vvt-zonnehuis-elv;ELV laag complex;2;12;2026-11-22T12:00:00+01:00\n"}

    def location_of(self, payload: Payload) -> str:
        """The location of the first data row; the API checks every other row's location too.
        Only the header and that row are read: the whole file is read once, by `parse`, after
        the caller is known to own the location."""
        rows = table(csv_text(payload, "body"), most=1)
        if not rows:
            raise AdapterError([error("required", "row 2", "the file has a header but no rows")])
        if not (location := rows[0].cells["locatie"]):
            raise AdapterError([error("required", rows[0].at("locatie"),
                                      "give the registered location id")])
        return location

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """Two observations (available, total) per row; every row must be right."""
        observations: list[Observation] = []
        issues: list[Issue] = []
        seen: dict[tuple[str, str, datetime], int] = {}  # (location, item, time) -> row
        for row in table(csv_text(payload, "body")):
            found, row_issues = self._row(row, meta)
            if found and (twice := _duplicate(seen, found[0], row)) is not None:
                row_issues.append(twice)
            observations += found
            issues += row_issues
        problems = [i for i in issues if i.severity == "error"]
        warnings = _one_per_rule([i for i in issues if i.severity == "warning"])
        return AdapterResult(finish(observations, problems, "body"), warnings)

    @staticmethod
    def _row(row: Row, meta: MessageMeta) -> tuple[list[Observation], list[Issue]]:
        issues: list[Issue] = []
        location = row.cells["locatie"]
        if not location:
            issues.append(error("required", row.at("locatie"), "give the registered location id"))
        care_type = care_type_of(row.cells["zorgsoort"])
        if care_type is None:
            issues.append(error("not-supported", row.at("zorgsoort"), f"unknown care type "
                                f"{row.cells['zorgsoort']!r}; use one of {accepted_names()}"))
        observed_at, time_issues = _observed_at(row, meta)
        issues += time_issues
        figures: dict[str, int | None] = {}
        for column in FIGURE_COLUMNS:
            figures[column], bad = _count(row, column)
            if bad is not None:
                issues.append(bad)
        if any(i.severity == "error" for i in issues) or care_type is None or observed_at is None:
            return [], issues
        observations, wrong = VvtBedsCsvAdapter._observations(row, care_type, figures,
                                                               observed_at, meta)
        return observations, issues + wrong

    @staticmethod
    def _observations(
        row: Row, care_type: str, figures: dict[str, int | None], observed_at: datetime,
        meta: MessageMeta,
    ) -> tuple[list[Observation], list[Issue]]:
        codes = bed_codes(care_type)
        observations: list[Observation] = []
        issues: list[Issue] = []
        for column, figure in FIGURE_COLUMNS.items():
            definition = require_definition(codes[figure], observed_at)
            if (bad := check_value(definition, figures[column], row.at(column))) is not None:
                issues.append(bad)
                continue
            observations.append(observation(definition, figures[column], meta, observed_at,
                                            location_id=row.cells["locatie"]))
        return observations, issues

    def element_of(self, payload: Payload, figure: Observation) -> str | None:
        """The cell that reported `figure`: 'row N, column beschikbaar' (or totaal), in the
        row of its location, care type and time."""
        _, _, care_type, name = figure.definition.split(".")  # vvt.beds.<care type>.<figure>
        column = next((c for c, named in FIGURE_COLUMNS.items() if named == name), None)
        if column is None:
            return None
        rows = [row for row in table(csv_text(payload, "body"))
                if row.cells["locatie"] == figure.location_id
                and care_type_of(row.cells["zorgsoort"]) == care_type
                and _moment(row.cells["tijdstip"]) == figure.observed_at]
        return rows[0].at(column) if rows else None


ADAPTER = VvtBedsCsvAdapter()
