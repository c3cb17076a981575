"""Consistency rules between the figures of one location, declared in `definitions/rules/*.yaml`.

A rule says that the reported figures of its `left` items, summed, are at most the sum of its
`at_most` items: `hospital.beds.ic.available + hospital.beds.ic.occupied` is at most
`hospital.beds.ic.staffed`.
A figure that is not reported never breaks a rule: the rule is checked only when its first
`left` item (the figure it is about) and every `at_most` item are reported, adding the other
`left` items that are (they are counts, never negative, so leaving one out can only make the
left side smaller). So `available + occupied <= staffed` still holds available to the staffed
beds when occupied is not known, and does not repeat `occupied <= staffed` when available is
not. Each rule has a severity: `refuse` (a
message breaking it is refused whole) or `warn` (accepted with a warning); the live queries flag
the figures of either kind.

Rules are versioned like definitions: a change is a new version of the declared entry with a
later `effective_from`. An entry with `for_each` declares one rule per combination of values
(`hospital.beds.{category}.occupied-within-staffed` for every bed category); its versions are
those of the entry. A rule applies from its first version's date, not before.

Everything here is pure: the adapters check one message's figures, the API flags the latest
figures of a location, with the same rules.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["refuse", "warn"]
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# Quantities are floats; counts are whole numbers stored as floats. Rounding is not a violation.
TOLERANCE = 1e-9


class Rule(BaseModel):
    """One version of one consistency rule, its placeholders filled in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$")
    declared_as: str  # the id as declared (with placeholders); versions belong to it
    version: int = Field(ge=1)
    effective_from: date
    change_note: str | None = None
    severity: Severity
    statement: str = Field(min_length=20)
    left: tuple[str, ...] = Field(min_length=1)
    at_most: tuple[str, ...] = Field(min_length=1)

    @property
    def items(self) -> tuple[str, ...]:
        """Every item the rule relates, left side first."""
        return self.left + self.at_most

    def check(self, values: Mapping[str, float | None]) -> Violation | None:
        """The violation of this rule by `values` (item -> figure; None or absent: not
        reported), or None when the figures keep it or cannot be compared."""
        # Plain loops: the live queries check every rule of every location they return.
        if (total := values.get(self.left[0])) is None:
            return None
        bound = 0.0
        for item in self.at_most:
            if (value := values.get(item)) is None:
                return None
            bound += value
        for item in self.left[1:]:
            if (value := values.get(item)) is not None:
                total += value
        if total <= bound + TOLERANCE:
            return None
        return Violation(self, _reported(self.left, values), _reported(self.at_most, values))


def _reported(items: tuple[str, ...],
              values: Mapping[str, float | None]) -> tuple[tuple[str, float], ...]:
    return tuple((item, float(value)) for item in items if (value := values.get(item)) is not None)


def _side(figures: tuple[tuple[str, float], ...]) -> str:
    terms = " + ".join(f"{item} ({value:g})" for item, value in figures)
    if len(figures) < 2:
        return terms
    return f"{terms} = {sum(v for _, v in figures):g}"


@dataclass(frozen=True)
class Violation:
    """Figures that break a rule: the reported left-side figures and the bound they exceed."""

    rule: Rule
    left: tuple[tuple[str, float], ...]
    at_most: tuple[tuple[str, float], ...]

    @property
    def items(self) -> tuple[str, ...]:
        """The items whose figures were compared, left first (a not-reported one is not
        among them)."""
        return tuple(item for item, _ in self.left + self.at_most)

    def describe(self) -> str:
        """'hospital.beds.ic.occupied (9) is more than hospital.beds.ic.staffed (5): <why>'."""
        return (f"{_side(self.left)} is more than {_side(self.at_most)}: "
                f"{self.rule.statement}")


class RuleSet:
    """The rules in force on one day, indexed by item: a location's figures are checked only
    against the rules that can apply to them."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(sorted(rules, key=lambda r: r.id))
        by_item: dict[str, list[Rule]] = {}
        by_bound: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for item in rule.items:
                by_item.setdefault(item, []).append(rule)
            # A rule is checked only when its bound is reported: indexed by its first item,
            # each rule is found once, and only for a location that reports that item.
            by_bound.setdefault(rule.at_most[0], []).append(rule)
        self._by_item = {item: tuple(rules) for item, rules in by_item.items()}
        self._by_bound = {item: tuple(rules) for item, rules in by_bound.items()}

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def about(self, item: str) -> tuple[Rule, ...]:
        """The rules that name `item`."""
        return self._by_item.get(item, ())

    def violations(self, values: Mapping[str, float | None]) -> list[Violation]:
        """Every rule broken by the figures of one location (item -> figure, None: not
        reported), in rule id order."""
        found = [violation for item, value in values.items() if value is not None
                 for rule in self._by_bound.get(item, ())
                 if (violation := rule.check(values)) is not None]
        return sorted(found, key=lambda v: v.rule.id)

    def flags(self, values: Mapping[str, float | None]) -> dict[str, list[Violation]]:
        """The violations of `violations(values)` by each item they compared."""
        by_item: dict[str, list[Violation]] = {}
        for violation in self.violations(values):
            for item in violation.items:
                by_item.setdefault(item, []).append(violation)
        return by_item

    def partners(self, items: Iterable[str]) -> frozenset[str]:
        """The items that rules relate to any of `items`, `items` themselves left out."""
        wanted = frozenset(items)
        return frozenset(other for item in wanted for rule in self.about(item)
                         for other in rule.items) - wanted


class RuleBook:
    """Every version of every rule; `in_force(day)` gives the rules of that day."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._declared: dict[str, dict[int, list[Rule]]] = {}
        for rule in rules:
            self._declared.setdefault(rule.declared_as, {}).setdefault(
                rule.version, []).append(rule)
        self._days: dict[date, RuleSet] = {}

    def in_force(self, on: date) -> RuleSet:
        """The rules in force on `on`: of each declared rule, the newest version whose
        `effective_from` is not later (none before its first version)."""
        found = self._days.get(on)
        if found is None:
            if len(self._days) > 366:  # a long-running API sees one new day at a time
                self._days.clear()
            found = self._days[on] = RuleSet(self._version_on(on))
        return found

    def _version_on(self, on: date) -> Iterator[Rule]:
        for versions in self._declared.values():
            in_force = [rules for _, rules in sorted(versions.items())
                        if rules[0].effective_from <= on]
            if in_force:
                yield from in_force[-1]

    def current(self) -> RuleSet:
        """The newest version of every declared rule, whatever its date (for the docs)."""
        return RuleSet(rule for versions in self._declared.values()
                       for rule in versions[max(versions)])

    def declared(self) -> list[str]:
        """The declared rules, by their declared ids."""
        return sorted(self._declared)

    def versions(self, declared_as: str) -> list[list[Rule]]:
        """Every version of one declared rule, oldest first, each as the rules it expands to."""
        versions = self._declared.get(declared_as, {})
        return [versions[v] for v in sorted(versions)]


def _filled(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: names.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_filled(v, names) for v in value]
    if isinstance(value, dict):
        return {key: _filled(v, names) for key, v in value.items()}
    return value


def expand(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rules one declared entry stands for: one per combination of its `for_each` values,
    each `{name}` replaced (an unknown placeholder stays, for the checker to name); each rule
    keeps the declared id as `declared_as`."""
    for_each = entry.get("for_each") or {}
    names = list(for_each) if isinstance(for_each, dict) else []
    values = [for_each[n] if isinstance(for_each[n], list) else [] for n in names]
    plain = {k: v for k, v in entry.items() if k != "for_each"}
    return [
        {**_filled(plain, dict(zip(names, combination, strict=True))),
         "declared_as": entry.get("id")}
        for combination in itertools.product(*values)
    ]


def rule_files(folder: Path) -> list[Path]:
    """The files that declare rules: `rules/*.yaml` beside the definition files."""
    return sorted((folder / "rules").glob("*.yaml"))


def load_rules(entries: Iterable[Mapping[str, Any]]) -> RuleBook:
    """A rule book of declared entries (validated by the model; `definitions.check` names
    what is wrong in a file)."""
    return RuleBook(Rule.model_validate(rule) for entry in entries for rule in expand(entry))
