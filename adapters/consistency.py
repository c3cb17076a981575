"""The consistency rules between items (`definitions/rules.py`), applied to one mapped message.

Every source format gets the same check after its adapter mapped the message: the figures of one
location observed at the same moment are checked against the rules in force on that day. A
broken `refuse` rule refuses the whole message (AdapterError, 422) with one issue per broken
rule, naming the elements of every figure compared and the rule; a broken `warn` rule comes
back as a warning of the accepted message. Figures of different moments in one message (a CSV
with rows of different times) are not compared here; the live queries flag them.

An adapter names the element a figure came from with an optional
`element_of(payload, observation) -> str | None`, the way it names elements in its other
errors; without one (or when it returns None), the element is the item code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from adapters.base import Adapter, AdapterError, AdapterResult, Issue, Payload
from core.messages import Observation
from core.refusals import RuleRef
from definitions import load_catalogue
from definitions.rules import Violation
from definitions.validation import as_number

ElementOf = Callable[[Payload, Observation], "str | None"]


def element_of(adapter: Adapter, payload: Payload, figure: Observation) -> str:
    """The element of `payload` that `figure` was mapped from, as the adapter names it."""
    namer: ElementOf | None = getattr(adapter, "element_of", None)
    return (namer(payload, figure) if namer is not None else None) or figure.definition


def _moments(observations: list[Observation]) -> dict[tuple[str, datetime],
                                                        dict[str, Observation]]:
    """The figures of the message by location and moment, then by item."""
    moments: dict[tuple[str, datetime], dict[str, Observation]] = {}
    for figure in observations:
        moments.setdefault((figure.location_id, figure.observed_at), {})[figure.definition] = figure
    return moments


def _issue(violation: Violation, elements: list[str]) -> Issue:
    rule = violation.rule
    return Issue(
        "error" if rule.severity == "refuse" else "warning", "business-rule", elements[0],
        f"rule {rule.id} (v{rule.version}): {violation.describe()}",
        also=tuple(elements[1:]), rule=RuleRef(rule.id, rule.version, rule.statement))


def rule_issues(adapter: Adapter, payload: Payload, result: AdapterResult) -> list[Issue]:
    """One issue per rule broken by figures of one location and moment in `result`."""
    rules = load_catalogue().rules
    issues = []
    for (_, moment), figures in _moments(result.observations).items():
        values = {code: as_number(figure.value) for code, figure in figures.items()}
        for violation in rules.in_force(moment.date()).violations(values):
            elements = [element_of(adapter, payload, figures[item]) for item in violation.items]
            issues.append(_issue(violation, elements))
    return issues


def checked(adapter: Adapter, payload: Payload, result: AdapterResult) -> AdapterResult:
    """`result` with a warning per broken `warn` rule; AdapterError naming every broken
    `refuse` rule (the message is then refused whole)."""
    issues = rule_issues(adapter, payload, result)
    if errors := [i for i in issues if i.severity == "error"]:
        raise AdapterError(errors)
    if not issues:
        return result
    return dataclasses.replace(result, warnings=[*result.warnings, *issues])
