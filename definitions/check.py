"""Checks the definition files: schema rules per entry, then rules across entries and files;
then the consistency rules of `rules/*.yaml` against the items they relate.

`python -m definitions.check [FOLDER]` prints one line per problem, naming the file, the entry and
the rule, and exits 1 if there is any. `make lint` runs it.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from definitions.catalogue import HERE, definition_files, read_yaml
from definitions.rules import PLACEHOLDER, expand, rule_files

SCHEMA_PATH = HERE.parent / "schemas" / "definition.schema.json"
RULE_SCHEMA_PATH = HERE.parent / "schemas" / "rule.schema.json"
# Rules add and compare figures: only items whose values are numbers can take part.
NUMERIC = ("count", "quantity")


@dataclass(frozen=True)
class Problem:
    """One broken rule: where, and which rule."""

    file: str
    entry: str
    rule: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.rule}"


@dataclass(frozen=True)
class Entry:
    """One definition entry with where it came from."""

    file: str
    index: int
    data: dict[str, Any]

    @property
    def name(self) -> str:
        """'entry 3 (hospital.beds.ic.available v2)' — how a person finds it."""
        code = self.data.get("code", self.data.get("id", "?"))
        return f"entry {self.index + 1} ({code} v{self.data.get('version', '?')})"


def _schema_validator(path: Path = SCHEMA_PATH) -> jsonschema.Draft202012Validator:
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _read_entries(path: Path, what: str = "definition") -> tuple[list[Entry], list[Problem]]:
    try:
        loaded = read_yaml(path)
    except yaml.YAMLError as exc:
        return [], [Problem(path.name, "file", f"not valid YAML: {exc}")]
    if not isinstance(loaded, list):
        return [], [Problem(path.name, "file", f"must be a YAML list of {what} entries")]
    entries = [Entry(path.name, i, e if isinstance(e, dict) else {}) for i, e in enumerate(loaded)]
    odd = [Problem(path.name, f"entry {i + 1}", "must be a mapping")
           for i, e in enumerate(loaded) if not isinstance(e, dict)]
    return entries, odd


def _normalised(data: dict[str, Any]) -> dict[str, Any]:
    # YAML turns an unquoted 2026-01-01 into a date; the schema speaks JSON, where it is a string.
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}


def schema_problems(entry: Entry, validator: jsonschema.Draft202012Validator) -> Iterator[Problem]:
    """Every JSON Schema rule the entry breaks, with the path of the offending field."""
    for error in sorted(validator.iter_errors(_normalised(entry.data)), key=lambda e: e.path):
        where = ".".join(str(p) for p in error.absolute_path)
        rule = f"{where}: {error.message}" if where else error.message
        yield Problem(entry.file, entry.name, rule)


def _value_rules(entry: Entry) -> Iterator[Problem]:
    data = entry.data
    bounds = data.get("range") or {}
    if isinstance(bounds, dict) and bounds.get("min", 0) > bounds.get("max", 0):
        yield Problem(entry.file, entry.name, "range: min must not exceed max")
    codes = [c.get("code") for c in data.get("codes", []) if isinstance(c, dict)]
    if len(codes) != len(set(codes)):
        yield Problem(entry.file, entry.name, "codes: every code may appear once")
    if data.get("codes") and data.get("value_type") != "code":
        yield Problem(entry.file, entry.name, "codes: only a code item has allowed codes")


def _version_rules(code: str, entries: list[Entry]) -> Iterator[Problem]:
    entries = sorted(entries, key=lambda e: e.data.get("version", 0))
    numbers = [e.data.get("version") for e in entries]
    if numbers != list(range(1, len(entries) + 1)):
        yield Problem(entries[0].file, code, f"versions must be 1..n without gaps, got {numbers}")
    for before, after in zip(entries, entries[1:], strict=False):
        if str(after.data.get("effective_from")) <= str(before.data.get("effective_from")):
            yield Problem(after.file, after.name,
                          "effective_from must be later than the previous version's")
        for fixed in ("value_type", "unit", "sector"):
            if after.data.get(fixed) != before.data.get(fixed):
                yield Problem(after.file, after.name, f"{fixed} may not change between versions: "
                              "stored figures would change meaning; define a new code instead")


def _mapping_rules(entries: list[Entry]) -> Iterator[Problem]:
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for entry in entries:
        for standard in ("saner",):  # codes providers send: each must point at one item
            for mapped in entry.data.get("mappings", {}).get(standard, []):
                owners[(standard, str(mapped).lower())].add(str(entry.data.get("code")))
    for (standard, mapped), codes in sorted(owners.items()):
        if len(codes) > 1:
            yield Problem("*", f"{standard} code {mapped}",
                          f"maps to more than one item: {', '.join(sorted(codes))}")


# Consistency rules --------------------------------------------------------------------------


def _placeholder_rules(entry: Entry) -> Iterator[Problem]:
    data = entry.data
    declared = set(data.get("for_each") or {})
    used = {name for key in ("id", "left", "at_most") for text in _texts(data.get(key))
            for name in PLACEHOLDER.findall(text)}
    for name in sorted(used - declared):
        yield Problem(entry.file, entry.name, f"placeholder {{{name}}} has no values in for_each")
    in_id = set(PLACEHOLDER.findall(str(data.get("id", ""))))
    for name in sorted(declared - in_id):
        yield Problem(entry.file, entry.name, f"for_each: {{{name}}} must appear in the id, "
                      "or the rules it makes share one id")


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _item_rules(entry: Entry, rule: dict[str, Any],
                items: dict[str, dict[str, Any]]) -> Iterator[Problem]:
    """The items of one expanded rule: known, numeric, of one sector and unit, and after the
    first on the left never negative (a not-reported one is left out of the sum)."""
    where = f"{entry.name}, rule {rule.get('id')}"
    left, right = _texts(rule.get("left")), _texts(rule.get("at_most"))
    known = [code for code in left + right if code in items]
    for code in left + right:
        if code not in items:
            yield Problem(entry.file, where, f"unknown item {code}")
        elif items[code].get("value_type") not in NUMERIC:
            yield Problem(entry.file, where, f"{code} is a {items[code].get('value_type')} "
                          "item; rules compare counts and quantities")
    for fact in ("sector", "unit"):
        values = {code: str(items[code].get(fact)) for code in known}
        if len(set(values.values())) > 1:
            listed = ", ".join(f"{code} ({value})" for code, value in values.items())
            yield Problem(entry.file, where, f"relates items of different {fact}s: {listed}; a "
                          f"rule compares figures of one {fact}")
    for code in sorted(set(left) & set(right)):
        yield Problem(entry.file, where, f"{code} is on both sides")
    for code in left[1:]:
        bounds = items.get(code, {}).get("range") or {}
        if code in items and not (isinstance(bounds, dict) and bounds.get("min", -1) >= 0):
            yield Problem(entry.file, where, f"{code} may be negative: a further left item that "
                          "is not reported is left out of the sum, which is only safe for "
                          "figures of at least 0")


def _rule_version_rules(declared: str, entries: list[Entry]) -> Iterator[Problem]:
    entries = sorted(entries, key=lambda e: e.data.get("version", 0))
    numbers = [e.data.get("version") for e in entries]
    if numbers != list(range(1, len(entries) + 1)):
        yield Problem(entries[0].file, declared,
                      f"versions must be 1..n without gaps, got {numbers}")
    for before, after in zip(entries, entries[1:], strict=False):
        if str(after.data.get("effective_from")) <= str(before.data.get("effective_from")):
            yield Problem(after.file, after.name,
                          "effective_from must be later than the previous version's")


def rule_problems(folder: Path, items: dict[str, dict[str, Any]]) -> list[Problem]:
    """Every problem in the rule files of `folder`, against `items` (code -> newest entry)."""
    validator = _schema_validator(RULE_SCHEMA_PATH)
    problems: list[Problem] = []
    by_declared: dict[str, list[Entry]] = defaultdict(list)
    owners: dict[str, set[str]] = defaultdict(set)
    for path in rule_files(folder):
        entries, broken = _read_entries(path, "rule")
        problems += broken
        for entry in entries:
            schema = list(schema_problems(entry, validator))
            problems += schema + list(_placeholder_rules(entry))
            by_declared[str(entry.data.get("id"))].append(entry)
            if schema:
                continue  # the expansion of a malformed entry would only repeat its problem
            for rule in expand(entry.data):
                problems += _item_rules(entry, rule, items)
                owners[str(rule.get("id"))].add(str(entry.data.get("id")))
    for declared, versions in sorted(by_declared.items()):
        problems += _rule_version_rules(declared, versions)
    problems += [Problem("rules", f"rule {rule_id}", f"declared by more than one entry: "
                         f"{', '.join(sorted(declared))}")
                 for rule_id, declared in sorted(owners.items()) if len(declared) > 1]
    return problems


def _version_number(entry: Entry) -> int:
    version = entry.data.get("version")
    return version if isinstance(version, int) else 0


def check(folder: Path = HERE) -> list[Problem]:
    """Every problem in the definition and rule files of `folder`."""
    validator = _schema_validator()
    problems: list[Problem] = []
    entries: list[Entry] = []
    for path in definition_files(folder):
        found, broken = _read_entries(path)
        entries += found
        problems += broken
    by_code: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        problems += schema_problems(entry, validator)
        problems += _value_rules(entry)
        by_code[str(entry.data.get("code"))].append(entry)
    for code, versions in sorted(by_code.items()):
        problems += _version_rules(code, versions)
    problems += _mapping_rules(entries)
    newest = {code: max(versions, key=_version_number).data for code, versions in by_code.items()}
    return problems + rule_problems(folder, newest)


def main() -> None:
    """CLI: print problems, exit 1 if any."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    problems = check(folder)
    for problem in problems:
        sys.stderr.write(f"definitions: {problem}\n")
    if problems:
        sys.exit(1)
    sys.stdout.write(f"definitions: {len(definition_files(folder))} files and "
                     f"{len(rule_files(folder))} rule files, all rules pass\n")


if __name__ == "__main__":
    main()
