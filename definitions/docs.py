"""Render the definition catalogue as one self-contained HTML page.

The page is for people: a provider's integrator and a care coordination centre (ZCV) read what
each figure means, what does not count, how fresh it must be and how it maps to the standards.
It has no external CSS, JS or fonts, so it can be mailed or opened offline.

    python -m definitions.docs [OUTPUT]    # default: docs/catalogue.html
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from definitions.catalogue import (
    Catalogue,
    Definition,
    Region,
    SafetyRegion,
    Urgency,
    VehicleStatus,
    load_catalogue,
)
from definitions.rules import Rule

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "catalogue.html"
TITLE = "Zorgcapaciteit — shared definitions"

SECTOR_NAMES = {
    "hospital": "Hospital (ziekenhuis, SEH)",
    "hap": "HAP (huisartsenpost)",
    "gp-practice": "GP practice (huisartsenpraktijk)",
    "vvt": "VVT",
    "ggz": "Acute GGZ",
    "ambulance": "Ambulance (RAV, LSIV)",
    "all": "All sectors (facility information)",
}
CATEGORY_NAMES = {
    "facility": "Facility",
    "available_capacity": "Available capacity",
    "busyness": "Busyness",
    "location": "Location",
}
STANDARD_NAMES = {
    "saner": "HL7 SANER",
    "fhir": "HL7 FHIR R4",
    "have": "OASIS EDXL-HAVE",
    "nts": "NTS urgency",
    "urgency": "Ambulance urgency",
    "lpz": "LPZ",
    "lsiv": "LSIV",
}
ROLLUP_TEXT = {
    "sum": "sum — figures of several locations add up",
    "latest": "latest — the most recent figure holds; figures do not add up",
    "cumulative": "cumulative — figures accumulate over the period",
}
URGENCY_KINDS = {
    "ambulance": "Ambulance urgencies",
    "nts": "NTS urgencies (Nederlandse Triage Standaard)",
}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.45;
 max-width:60rem;margin:0 auto;padding:1rem 1.5rem;color:#1a1a1a;background:#fff}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #2b5d8a;padding-bottom:.2rem;margin-top:2.5rem}
h3{color:#2b5d8a;margin-top:1.8rem}
code{background:#f2f4f7;padding:0 .25rem;border-radius:3px;font-size:.92em}
nav ul{margin:.2rem 0}nav li{margin:.1rem 0}
.item{border:1px solid #d5dbe3;border-radius:6px;padding:.4rem 1rem .8rem;margin:1rem 0}
.item h4{margin:.4rem 0 .1rem;font-size:1.05rem}
.nl{color:#555;margin:0 0 .5rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:.5rem 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #d5dbe3;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f4f7}
.history{border-left:3px solid #d5dbe3;padding-left:.8rem;margin:.4rem 0}
#filter input{width:100%;max-width:30rem;padding:.3rem;font-size:1rem}
footer{margin-top:3rem;color:#666;font-size:.9rem}
"""

# Progressive enhancement only: the filter box stays hidden unless this script runs.
SCRIPT = """
(function () {
  var box = document.getElementById("filter");
  var input = box.querySelector("input");
  var items = document.querySelectorAll("section.item");
  box.hidden = false;
  input.addEventListener("input", function () {
    var q = input.value.trim().toLowerCase();
    items.forEach(function (item) {
      var hide = q !== "" && item.textContent.toLowerCase().indexOf(q) < 0;
      item.hidden = hide;
      var entry = document.querySelector('li[data-code="' + item.id + '"]');
      if (entry) { entry.hidden = hide; }
    });
  });
})();
"""


def _e(value: object) -> str:
    return escape(str(value))


# A line break after each block keeps the generated file readable in a diff.
BLOCKS = frozenset({"section", "table", "tr", "ul", "li", "div", "dl", "dd", "p", "h1", "h2",
                    "h3", "h4", "nav", "header", "main", "footer", "script"})


def _tag(name: str, body: str, attrs: str = "") -> str:
    end = "\n" if name in BLOCKS else ""
    return f"<{name}{attrs}>{body}</{name}>{end}"


def _list(items: Iterable[str], tag: str = "ul") -> str:
    """An HTML list of already rendered entries."""
    return _tag(tag, "".join(_tag("li", item) for item in items))


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A table of plain-text cells (escaped here)."""
    head = _tag("tr", "".join(_tag("th", _e(h)) for h in headers))
    body = "".join(_tag("tr", "".join(_tag("td", _e(c)) for c in row)) for row in rows)
    return _tag("table", _tag("thead", head) + _tag("tbody", body))


def duration(minutes: int) -> str:
    """A freshness deadline in readable form: '15 min', '1 h', '1 day', '30 days'."""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} day" + ("s" if days > 1 else "")] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{mins} min"] if mins or not parts else []
    return " ".join(parts)


def _number(value: float) -> str:
    return f"{value:g}"


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")


# Items --------------------------------------------------------------------------------------


def _value_text(item: Definition) -> str:
    text = f"<code>{_e(item.value_type)}</code>, unit <code>{_e(item.unit)}</code>"
    if item.range is not None:
        text += f"; range {_number(item.range.min)} to {_number(item.range.max)}"
    return text


def _codes(item: Definition) -> str:
    return _list(f"<code>{_e(c.code)}</code> {_e(c.label)}" for c in item.codes)


def _mappings(item: Definition) -> str:
    return _list(
        f"{_e(STANDARD_NAMES.get(standard, standard))}: "
        + ", ".join(f"<code>{_e(code)}</code>" for code in codes)
        for standard, codes in sorted(item.mappings.items())
    )


def _not_reported(item: Definition) -> str:
    if item.not_reported_allowed:
        return "allowed — a provider may send ‘not known’ instead of a value"
    return "not allowed — a value must be sent"


def rule_anchor(rule_id: str) -> str:
    """The id of a rule's row in the page."""
    return f"rule-{rule_id}"


def _rule_links(rules: Sequence[Rule]) -> str:
    return _list(f'<a href="#{_e(rule_anchor(r.id))}"><code>{_e(r.id)}</code></a> '
                 f"({_e(r.severity)})" for r in rules)


def _facts(item: Definition, rules: Sequence[Rule] = ()) -> list[tuple[str, str]]:
    """(term, rendered description) pairs for the facts list of an item."""
    facts = [("Value", _value_text(item))]
    facts += [("Allowed codes", _codes(item))] if item.codes else []
    facts += [
        ("Roll-up", _e(ROLLUP_TEXT.get(item.rollup, item.rollup))),
        ("Stale after", _e(duration(item.freshness_minutes))),
        ("Not reported", _e(_not_reported(item))),
    ]
    facts += [("Derived by the platform", _e(item.derived))] if item.derived else []
    facts += [("Mappings", _mappings(item))] if item.mappings else []
    facts += [("Consistency rules", _rule_links(rules))] if rules else []
    facts.append(("Version", _e(f"{item.version}, in force from {item.effective_from}")))
    return facts


def _facts_list(item: Definition, rules: Sequence[Rule] = ()) -> str:
    return _tag("dl", "".join(_tag("dt", t) + _tag("dd", d) for t, d in _facts(item, rules)),
                ' class="facts"')


def _excludes(item: Definition) -> str:
    if not item.excludes:
        return ""
    return "<p><strong>Does not count:</strong></p>" + _list(_e(x) for x in item.excludes)


def _history_entry(version: Definition) -> str:
    note = f"<p>{_e(version.change_note)}</p>" if version.change_note else ""
    head = f"<p><strong>Version {version.version}</strong>, from {_e(version.effective_from)}</p>"
    body = f"<p><em>Definition:</em> {_e(version.definition)}</p>"
    return _tag("div", head + note + body, ' class="history"')


def _history(versions: Sequence[Definition]) -> str:
    if len(versions) < 2:
        return ""
    entries = "".join(_history_entry(v) for v in reversed(versions))
    return "<p><strong>Version history</strong> (newest first):</p>" + entries


def render_item(versions: Sequence[Definition], rules: Sequence[Rule] = ()) -> str:
    """One item's section; `versions` oldest first, the last one is current; `rules` those
    that relate it to other items."""
    item = versions[-1]
    heading = _tag("h4", f"<code>{_e(item.code)}</code> {_e(item.label.en)}")
    dutch = _tag("p", _e(item.label.nl), ' class="nl" lang="nl"')
    body = f"<p>{_e(item.definition)}</p>" + _excludes(item) + _facts_list(item, rules)
    return _tag("section", heading + dutch + body + _history(versions),
                f' class="item" id="{_e(item.code)}"')


# Grouping -----------------------------------------------------------------------------------

Groups = dict[str, dict[str, list[Definition]]]


def _order(key: str, names: dict[str, str]) -> tuple[int, str]:
    return (list(names).index(key) if key in names else len(names), key)


def group(catalogue: Catalogue) -> Groups:
    """Current definitions by sector, then category, in reading order."""
    groups: Groups = {}
    for item in sorted(catalogue.current_all(), key=lambda d: d.code):
        groups.setdefault(item.sector, {}).setdefault(item.category, []).append(item)
    return {
        sector: {c: groups[sector][c] for c in sorted(groups[sector],
                                                      key=lambda c: _order(c, CATEGORY_NAMES))}
        for sector in sorted(groups, key=lambda s: _order(s, SECTOR_NAMES))
    }


def _toc_items(items: Sequence[Definition]) -> str:
    return "<ul>" + "".join(
        f'<li data-code="{_e(d.code)}"><a href="#{_e(d.code)}"><code>{_e(d.code)}</code></a> '
        f"{_e(d.label.en)}</li>"
        for d in items
    ) + "</ul>"


def _toc_sector(sector: str, categories: dict[str, list[Definition]]) -> str:
    link = f'<a href="#sector-{_e(sector)}">{_e(SECTOR_NAMES.get(sector, sector))}</a>'
    return link + _list(_e(CATEGORY_NAMES.get(c, c)) + _toc_items(items)
                        for c, items in categories.items())


def render_contents(groups: Groups) -> str:
    """The table of contents: sectors, categories, items, then the rules and reference data."""
    entries = [_toc_sector(s, cats) for s, cats in groups.items()]
    entries.append('<a href="#rules">Consistency rules between items</a>')
    entries.append('<a href="#reference">Reference data</a>')
    filter_box = ('<div id="filter" hidden><label>Filter items: '
                  '<input type="search" placeholder="code, label or text"></label></div>')
    return _tag("nav", "<h2>Contents</h2>" + filter_box + _list(entries), ' id="contents"')


def _sector_section(sector: str, categories: dict[str, list[Definition]],
                    catalogue: Catalogue) -> str:
    rules = catalogue.rules.current()
    body = "".join(
        _tag("section", _tag("h3", _e(CATEGORY_NAMES.get(c, c)))
             + "".join(render_item(catalogue.versions(d.code), rules.about(d.code))
                       for d in items))
        for c, items in categories.items()
    )
    heading = _tag("h2", _e(SECTOR_NAMES.get(sector, sector)))
    return _tag("section", heading + body, f' id="sector-{_e(sector)}"')


# Consistency rules --------------------------------------------------------------------------

SEVERITY_TEXT = {
    "refuse": "refuse — a message whose figures of one moment break it is refused whole (422)",
    "warn": "warn — accepted, with a warning in the answer",
}
RULES_INTRO = (
    "Figures of one location must make sense together. Each rule says that the figures on its "
    "left, added up, are at most those on its right. A figure that is not reported never "
    "breaks a rule: the rule is checked when the first figure on its left and every figure on "
    "its right are reported, adding the other figures on its left that are. Within one "
    "message, figures of the same moment are checked "
    "when the message arrives; the live queries flag every figure that breaks a rule with the "
    "location's other latest figures, also when they came in different messages. Rules are "
    "versioned like the definitions.",
)


def _relation(rule: Rule) -> str:
    def side(items: Sequence[str]) -> str:
        return " + ".join(f'<a href="#{_e(i)}"><code>{_e(i)}</code></a>' for i in items)

    return f"{side(rule.left)} ≤ {side(rule.at_most)}"


def _rule_rows(rules: Sequence[Rule]) -> str:
    return "".join(_tag("tr", _tag("td", f"<code>{_e(r.id)}</code>") + _tag("td", _relation(r)),
                        f' id="{_e(rule_anchor(r.id))}"') for r in rules)


def _declared_rule(versions: Sequence[Sequence[Rule]]) -> str:
    """One declared rule: its current version's statement, severity and rules, its history."""
    current = versions[-1]
    first = current[0]
    facts = [("Severity", _e(SEVERITY_TEXT[first.severity])),
             ("Version", _e(f"{first.version}, in force from {first.effective_from}"))]
    facts += [(f"Version {v[0].version}", _e(f"from {v[0].effective_from}: {v[0].change_note}"))
              for v in reversed(versions[1:])]
    head = _tag("tr", _tag("th", "Rule") + _tag("th", "Figures"))
    return _tag("section", _tag("h4", f"<code>{_e(first.declared_as)}</code>")
                + _tag("p", _e(first.statement))
                + _tag("dl", "".join(_tag("dt", t) + _tag("dd", d) for t, d in facts),
                       ' class="facts"')
                + _tag("table", _tag("thead", head) + _tag("tbody", _rule_rows(current))),
                ' class="item"')


def render_rules(catalogue: Catalogue) -> str:
    """Every declared consistency rule, by the sector of the items it relates."""
    by_sector: dict[str, list[str]] = {}
    for declared in catalogue.rules.declared():
        rule = catalogue.rules.versions(declared)[-1][0]
        item = catalogue.get(rule.left[0])
        by_sector.setdefault(item.sector if item else "?", []).append(declared)
    parts = "".join(
        _tag("section", _tag("h3", _e(SECTOR_NAMES.get(sector, sector)))
             + "".join(_declared_rule(catalogue.rules.versions(d)) for d in declared))
        for sector, declared in sorted(by_sector.items(), key=lambda s: _order(s[0], SECTOR_NAMES))
    )
    intro = "".join(_tag("p", _e(text)) for text in RULES_INTRO)
    return _tag("section", "<h2>Consistency rules between items</h2>" + intro + parts,
                ' id="rules"')


# Reference data -----------------------------------------------------------------------------


def _region_rows(regions: dict[str, Region]) -> list[list[str]]:
    def name(code: str) -> str:
        return regions[code].name if code in regions else code

    return [[r.code, r.name, r.trauma_centre, ", ".join(name(n) for n in r.neighbours)]
            for r in regions.values()]


def _safety_rows(safety: dict[str, SafetyRegion], regions: dict[str, Region]) -> list[list[str]]:
    def name(code: str) -> str:
        return regions[code].name if code in regions else code

    return [[str(r.number), r.code, r.name, name(r.roaz_region),
             ", ".join(name(a) for a in r.also) or "—"]
            for r in sorted(safety.values(), key=lambda r: r.number)]


def _status_rows(statuses: dict[str, VehicleStatus]) -> list[list[str]]:
    return [[s.code, s.name, s.nl, _yes_no(s.available), _yes_no(s.deployed)]
            for s in statuses.values()]


def _minutes_or_dash(minutes: int | None) -> str:
    if minutes is None:
        return "—"
    return "immediately" if minutes == 0 else duration(minutes)


def _urgency_table(kind: str, urgencies: list[Urgency]) -> str:
    if kind == "ambulance":
        rows = [[u.code, u.name, _minutes_or_dash(u.response_minutes), _yes_no(u.ambulance)]
                for u in urgencies]
        return _table(["Code", "Meaning", "On scene within", "Ambulance needed"], rows)
    rows = [[u.code, u.name, _minutes_or_dash(u.within_minutes)] for u in urgencies]
    return _table(["Code", "Meaning", "Seen within"], rows)


def _urgencies(urgencies: dict[str, list[Urgency]]) -> str:
    return "".join(_tag("h4", _e(URGENCY_KINDS.get(kind, kind))) + _urgency_table(kind, items)
                   for kind, items in urgencies.items())


def _reference_part(anchor: str, title: str, intro: str, body: str) -> str:
    return _tag("section", _tag("h3", _e(title)) + _tag("p", _e(intro)) + body,
                f' id="{anchor}"')


def render_reference(catalogue: Catalogue) -> str:
    """The reference data: regions, safety regions, vehicle statuses, urgencies."""
    parts = [
        _reference_part(
            "ref-roaz", "ROAZ regions",
            "The ten ROAZ regions; each runs a care coordination centre (ZCV) around one trauma "
            "centre. Neighbours share a border and are included in ‘region and neighbours’ views.",
            _table(["Code", "Name", "Trauma centre", "Neighbours"],
                   _region_rows(catalogue.regions))),
        _reference_part(
            "ref-safety", "Veiligheidsregio's (RAV regions)",
            "The 25 safety regions, each with one regional ambulance service (RAV). ‘Also’ names "
            "a second ROAZ region a safety region partly lies in.",
            _table(["Number", "Code", "Name", "ROAZ region", "Also"],
                   _safety_rows(catalogue.safety_regions, catalogue.regions))),
        _reference_part(
            "ref-vehicle", "Vehicle status codes (LSIV)",
            "Available: the vehicle can be dispatched to a new incident. Deployed: the vehicle "
            "is on a ride and counts toward ambulance busyness.",
            _table(["Code", "Status", "Dutch", "Available", "Deployed"],
                   _status_rows(catalogue.vehicle_statuses))),
        _reference_part("ref-urgency", "Urgency classes",
                        "Ambulance deployment urgencies and NTS triage urgencies.",
                        _urgencies(catalogue.urgencies)),
    ]
    return _tag("section", "<h2>Reference data</h2>" + "".join(parts), ' id="reference"')


# Page ---------------------------------------------------------------------------------------

INTRO = (
    "Every figure on the platform refers to one item of this catalogue. Each item has one "
    "unambiguous definition: what counts, and explicitly what does not. Definitions are "
    "versioned: a change is a new version with a later effective date, and a figure is read "
    "against the version it was observed under.",
    "Not reported is not zero. A missing figure means ‘unknown’, never 0; where allowed a "
    "provider may report ‘not known’ explicitly.",
    "Each figure carries when it was observed and is stale once it is older than its item's "
    "freshness deadline (‘Stale after’ below); a stale figure is shown as stale, not as current.",
    "Roll-up follows HL7 SANER: counts (sum) add up across locations, point-in-time values "
    "(latest) keep the most recent figure, cumulative values accumulate over the period.",
)


def _head() -> str:
    return (f'<head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(TITLE)}</title><style>{STYLE}</style></head>")


def _header(catalogue: Catalogue) -> str:
    count = f"{len(catalogue.codes())} items."
    paragraphs = "".join(_tag("p", _e(text)) for text in INTRO)
    return _tag("header", _tag("h1", _e(TITLE)) + paragraphs + _tag("p", _e(count)))


def render_catalogue(catalogue: Catalogue, generated_at: datetime | None = None) -> str:
    """The whole catalogue as one self-contained HTML document."""
    moment = generated_at or datetime.now(UTC)
    groups = group(catalogue)
    sectors = "".join(_sector_section(s, cats, catalogue) for s, cats in groups.items())
    main = _tag("main", sectors + render_rules(catalogue) + render_reference(catalogue))
    footer = _tag("footer", _e(f"Generated {moment.isoformat(timespec='minutes')} "
                               "from the definitions in definitions/*.yaml and the "
                               "rules in definitions/rules/*.yaml."))
    body = (_header(catalogue) + render_contents(groups) + main + footer
            + _tag("script", SCRIPT))
    return f'<!DOCTYPE html>\n<html lang="en">{_head()}<body>{body}</body></html>\n'


def write_catalogue(path: Path) -> Path:
    """Write the page for the real catalogue to `path` (creating folders); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_catalogue(load_catalogue()), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m definitions.docs [OUTPUT]`: write the page and say where."""
    args = sys.argv[1:] if argv is None else list(argv)
    path = write_catalogue(Path(args[0]) if args else DEFAULT_OUTPUT)
    sys.stdout.write(f"Wrote the definition catalogue to {path}\n")


if __name__ == "__main__":
    main()
