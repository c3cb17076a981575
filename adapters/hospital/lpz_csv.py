"""Bed status per bed as the CSV of the LPZ Stekker: the EPD's export, every five minutes.

The file is UTF-8 and semicolon-separated. Its first line names the registered hospital Location
the beds belong to, as a comment the LPZ Stekker export is configured to write; the second line
is the header; then one row per bed:

    #location=alrijne-leiderdorp
    afdeling;kamer;bed;status;tijdstip
    IC;Box 1;1;bezet;2026-11-22T13:45:02+01:00
    A3;312;2;vrij;2026-11-22T13:45:02+01:00

`afdeling` is the EPD's department code, `kamer` the room (may be empty where a unit has no
rooms), `bed` the bed, `tijdstip` the moment of the row (ISO 8601 with timezone). `status` is
compared case-insensitively:

| status | meaning | staffed | occupied | available |
|---|---|---|---|---|
| bezet | occupied | yes | yes | no |
| vrij | free and ready | yes | no | yes |
| gereserveerd | free, held for a planned admission | yes | no | no |
| schoonmaak | free, being cleaned | yes | no | no |
| gesloten | closed | no | no | no |

Every row counts towards the total. Department codes differ per hospital, so each hospital
registers a mapping table (PUT /v1/mappings/{location_id}/csv/lpz-beds) from department code to
bed category, with the departments that are not reported (day care, say) under `ignore`:

    {"departments": {"IC": "ic", "CCU": "ccu", "A3": "ward"}, "ignore": ["DAGBEH"]}

Rows of ignored departments are skipped (only their number of cells is checked). The figures
are per category at the hospital plus inpatient totals, at the latest `tijdstip` of the file;
a file whose rows lie more than 15 minutes apart is no snapshot and is refused. Errors name the
line of the file as its row (`row 7, column afdeling`): the location line is row 1 and the
header row 2, as in an editor or a spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.base import (
    AdapterError,
    AdapterResult,
    Issue,
    MessageMeta,
    Payload,
    check_observed_at,
    csv_text,
    error,
    parse_instant,
)
from adapters.figures import finish
from adapters.hospital.beds import BedCount, BedState, bed_categories, hospital_figures

LOCATION_PREFIX = "#location="
COLUMNS = ("afdeling", "kamer", "bed", "status", "tijdstip")
REQUIRED = ("afdeling", "bed", "status", "tijdstip")
STATUSES = {
    "bezet": BedState.OCCUPIED,
    "vrij": BedState.AVAILABLE,
    # Reserved and being-cleaned beds are open and staffed, but no patient can go there now.
    "gereserveerd": BedState.OPEN_NOT_AVAILABLE,
    "schoonmaak": BedState.OPEN_NOT_AVAILABLE,
    "gesloten": BedState.CLOSED,
}
MAX_SPAN = timedelta(minutes=15)
MAPPING_KEYS = ("departments", "ignore")


def check_mapping(mapping: Any) -> list[str]:
    """Problems with a mapping table `{"departments": {code: category}, "ignore": [code]}`."""
    if not isinstance(mapping, dict):
        return ["the mapping must be a JSON object with 'departments' (and optionally 'ignore')"]
    problems = [f"unknown key {key!r}; expected {' or '.join(MAPPING_KEYS)}"
                for key in mapping if key not in MAPPING_KEYS]
    return problems + _department_problems(mapping.get("departments")) + _ignore_problems(
        mapping.get("ignore", []), mapping.get("departments"))


def _department_problems(departments: Any) -> list[str]:
    if not isinstance(departments, dict) or not departments:
        return ["'departments' must be a non-empty object from department code to bed category"]
    known = ", ".join(sorted(bed_categories()))
    problems = []
    for code, category in departments.items():
        if not code.strip() or code != code.strip():
            problems.append(f"departments: department code {code!r} must be non-empty text "
                            "without leading or trailing spaces")
        if not isinstance(category, str) or category not in bed_categories():
            problems.append(f"departments.{code}: unknown bed category {category!r}; "
                            f"one of {known}")
    return problems


def _ignore_problems(ignore: Any, departments: Any) -> list[str]:
    if not isinstance(ignore, list) or not all(isinstance(c, str) and c for c in ignore):
        return ["'ignore' must be a list of department codes"]
    mapped = departments if isinstance(departments, dict) else {}
    return [f"ignore: department {code!r} is also mapped in 'departments'; it is one or the other"
            for code in ignore if code in mapped]


@dataclass(frozen=True)
class Row:
    """One data row of the file, by column name, with its row number (its line in the file)."""

    number: int
    cells: dict[str, str]

    def at(self, column: str) -> str:
        """Where a cell is, for an error."""
        return f"row {self.number}, column {column}"


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Every non-blank line of the file as cells, with its row (line) number."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=";")
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield reader.line_num, [cell.strip() for cell in cells]
    except csv.Error as exc:  # an unclosed quote, a cell beyond the csv module's limit
        raise AdapterError([error("structure", f"row {reader.line_num}",
                                  f"not readable as CSV: {exc}")]) from exc


def _location(first: tuple[int, list[str]] | None) -> str:
    # Spreadsheet tools pad a one-cell line with separators: '#location=x;;;;' is the same line.
    line = ";".join(first[1]).rstrip(";").strip() if first and first[0] == 1 else ""
    location = line[len(LOCATION_PREFIX):].strip() if line.startswith(LOCATION_PREFIX) else ""
    if not location:
        raise AdapterError([error("required", "row 1", "the first line must name the hospital: "
                                  "'#location=<registered Location id>'")])
    return location


def _columns(header: tuple[int, list[str]] | None) -> dict[str, int]:
    if header is None:
        raise AdapterError([error("required", "row 2", "the file has no header; expected "
                                  f"{';'.join(COLUMNS)}")])
    number, names = header
    names = [name.lower() for name in names]
    problems = [error("structure", f"row {number}, column {name or i + 1}",
                      f"unknown column {name!r}; expected {';'.join(COLUMNS)}")
                for i, name in enumerate(names) if name not in COLUMNS]
    problems += [error("structure", f"row {number}", f"column {name} is missing; expected "
                       f"{';'.join(COLUMNS)}") for name in COLUMNS if name not in names]
    problems += [error("structure", f"row {number}, column {name}", "column given twice")
                 for name in COLUMNS if names.count(name) > 1]
    if problems:
        raise AdapterError(problems)
    return {name: names.index(name) for name in COLUMNS}


def _rows(records: Iterator[tuple[int, list[str]]], columns: Mapping[str, int],
          ignore: set[str], problems: list[Issue]) -> list[Row]:
    """The data rows, less those of ignored departments; problems of shape into `problems`."""
    rows = []
    for number, cells in records:
        if len(cells) != len(columns):
            problems.append(error("structure", f"row {number}", f"expected {len(columns)} values "
                                  f"separated by ';' ({';'.join(COLUMNS)}), got {len(cells)}"))
            continue
        row = Row(number, {name: cells[i] for name, i in columns.items()})
        if row.cells["afdeling"] in ignore:
            continue
        missing = [error("required", row.at(name), f"give the {name}")
                   for name in REQUIRED if not row.cells[name]]
        problems += missing
        if not missing:
            rows.append(row)
    return rows


@dataclass(frozen=True)
class Bed:
    """One counted row: its category, state and time."""

    row: Row
    category: str
    state: BedState
    moment: datetime


def _bed(row: Row, departments: Mapping[str, str], location_id: str) -> Bed | list[Issue]:
    problems = []
    category = departments.get(row.cells["afdeling"])
    if category is None:
        problems.append(error("business-rule", row.at("afdeling"), f"department "
                              f"{row.cells['afdeling']!r} is not in this hospital's mapping "
                              "table; map it to a bed category or list it under 'ignore' "
                              f"(PUT /v1/mappings/{location_id}/csv/lpz-beds)"))
    state = STATUSES.get(row.cells["status"].lower())
    if state is None:
        problems.append(error("value", row.at("status"), f"unknown status "
                              f"{row.cells['status']!r}; one of {', '.join(STATUSES)}"))
    try:
        moment = parse_instant(row.cells["tijdstip"], row.at("tijdstip"))
    except AdapterError as exc:
        problems += exc.issues
    if problems or category is None or state is None:
        return problems
    return Bed(row, category, state, moment)


def _duplicates(rows: list[Row]) -> list[Issue]:
    seen: dict[tuple[str, str, str], int] = {}
    problems = []
    for row in rows:
        key = (row.cells["afdeling"], row.cells["kamer"], row.cells["bed"])
        if key in seen:
            problems.append(error("business-rule", row.at("bed"), f"bed {key[2]!r} in room "
                                  f"{key[1]!r} of department {key[0]!r} is already on row "
                                  f"{seen[key]}: one row per bed"))
        seen.setdefault(key, row.number)
    return problems


def _snapshot_time(beds: list[Bed], meta: MessageMeta) -> datetime | Issue:
    """The latest tijdstip, if all rows lie within MAX_SPAN of each other."""
    first = min(beds, key=lambda b: b.moment)
    last = max(beds, key=lambda b: b.moment)
    if last.moment - first.moment > MAX_SPAN:
        return error("business-rule", "column tijdstip", f"the rows span from "
                     f"{first.moment.isoformat()} (row {first.row.number}) to "
                     f"{last.moment.isoformat()} (row {last.row.number}), more than "
                     f"{int(MAX_SPAN.total_seconds() // 60)} minutes: send one export, "
                     "not rows of different moments")
    late = check_observed_at(last.moment, meta, last.row.at("tijdstip"))
    return late if late is not None else last.moment


def _mapping(meta: MessageMeta) -> tuple[dict[str, str], set[str]]:
    mapping = meta.context.get("mapping")
    problems = check_mapping(mapping) if mapping is not None else [
        "no mapping table for this location; register it with PUT "
        f"/v1/mappings/{meta.location_id}/csv/lpz-beds"]
    if problems:
        raise AdapterError([error("business-rule", "mapping", p) for p in problems])
    assert isinstance(mapping, dict)
    return dict(mapping["departments"]), set(mapping.get("ignore", []))


class LpzCsvAdapter:
    """LPZ Stekker CSV (one row per bed) -> bed counts per category at the hospital."""

    source_format = "csv/lpz-beds"
    sector = "hospital"
    media_type = "text/csv"
    path = "/v1/hospital/lpz-beds.csv"
    subject = "location"
    needs_mapping = True
    summary = "Push the LPZ Stekker bed export (CSV, one row per bed)"
    examples = Path(__file__).parent / "examples" / "lpz-csv"

    def location_of(self, payload: Payload) -> str:
        """The hospital named on the first line, `#location=<id>`."""
        return _location(next(_records(csv_text(payload, "CSV")), None))

    def request_schema(self) -> dict[str, Any]:
        """The LPZ Stekker export: a `#location=` line, the header, one row per bed."""
        return {"type": "string", "description": "UTF-8, `;`-separated: `#location=<id>`, then "
                "the header `afdeling;kamer;bed;status;tijdstip`, then one row per bed "
                "(status bezet, vrij, gereserveerd, schoonmaak or gesloten)",
                "example": "#location=alrijne-leiderdorp\nafdeling;kamer;bed;status;tijdstip\n"
                           "IC;Box 1;1;bezet;2026-11-22T13:45:02+01:00\n"}

    def mapping_schema(self) -> dict[str, Any]:
        """The mapping table's JSON Schema: department code → bed category, and the
        departments not reported."""
        return {"type": "object", "additionalProperties": False, "required": ["departments"],
                "properties": {
                    "departments": {"type": "object", "minProperties": 1,
                                    "additionalProperties": {"enum": sorted(bed_categories())},
                                    "description": "department code → bed category"},
                    "ignore": {"type": "array", "items": {"type": "string", "minLength": 1},
                               "description": "department codes that are not reported"}}}

    def check_mapping(self, mapping: dict[str, Any]) -> list[str]:
        """Problems with a hospital's mapping table (unknown category, wrong shape); [] if fine."""
        return check_mapping(mapping)

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """Count the beds of every mapped department into figures per bed category."""
        records = _records(csv_text(payload, "CSV"))
        _location(next(records, None))
        columns = _columns(next(records, None))
        departments, ignore = _mapping(meta)
        problems: list[Issue] = []
        rows = _rows(records, columns, ignore, problems)
        problems += _duplicates(rows)
        beds = []
        for row in rows:
            found = _bed(row, departments, meta.location_id)
            if isinstance(found, Bed):
                beds.append(found)
            else:
                problems += found
        if problems:
            raise AdapterError(problems)
        if not beds:
            raise AdapterError([error("required", "CSV", "the file holds no beds of a mapped "
                                      "department")])
        observed_at = _snapshot_time(beds, meta)
        if isinstance(observed_at, Issue):
            raise AdapterError([observed_at])
        counts: dict[str, BedCount] = {}
        for bed in beds:
            counts.setdefault(bed.category, BedCount()).add(bed.state)
        observations, bad = hospital_figures(counts, meta, observed_at, "CSV")
        return AdapterResult(finish(observations, bad, "CSV"))


ADAPTER = LpzCsvAdapter()
