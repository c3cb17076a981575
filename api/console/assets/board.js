// The region board: one table per sector, one row per location, the columns that
// api/console_layout.py declares. Every figure shows its age; stale figures and "not reported"
// are marked in words as well as colour. Rows are built with DOM calls (no HTML from data).

import { element } from "./dom.js";
import {
  ageSeconds, formatAge, formatClock, formatMoment, isStale, mergeFigures, serverNow,
  sortValue, valueText,
} from "./figures.js";

const HIGHLIGHT_MS = 15_000;

export class BoardModel {
  /** @param items the board's item definitions (value types), by code */
  constructor(items) {
    this.items = items;
    this.locations = new Map();
    // Mobile units by id (/v1/units and `position` events): the visit cars and district-nursing
    // teams a row offers "request visit" for.
    this.units = new Map();
  }

  /** A unit as /v1/units or a `position` event gives it. */
  unit(unit) {
    const known = this.units.get(unit.id);
    if (known && Date.parse(known.observed_at) > Date.parse(unit.observed_at)) return;
    this.units.set(unit.id, unit);
  }

  clear() {
    this.locations.clear();
  }

  /** A location as /v1/availability or a `figure` event gives it; figures merged by time. */
  merge(location) {
    let known = this.locations.get(location.location_id);
    if (!known) {
      known = { ...location, figures: new Map(), highlightUntil: 0 };
      this.locations.set(location.location_id, known);
    } else {
      Object.assign(known, { ...location, figures: known.figures });
    }
    return mergeFigures(known.figures, location.figures || []);
  }

  /** A `stale` or `fresh` event: the figure's flag as the server now sees it. */
  markStale(event) {
    const figure = this.locations.get(event.location_id)?.figures.get(event.definition);
    if (!figure || Date.parse(figure.observed_at) > Date.parse(event.observed_at)) return false;
    Object.assign(figure, { stale: event.stale, observed_at: event.observed_at });
    return true;
  }

  /** A `status` event: the new value, and the row highlighted for a while. */
  status(event) {
    const known = this.locations.get(event.location_id);
    if (!known) return false;
    const figure = known.figures.get(event.definition);
    if (!figure || Date.parse(figure.observed_at) <= Date.parse(event.observed_at)) {
      // An admission stop comes as 0/1 on this event; the board shows it as yes/no.
      const boolean = this.items[event.definition]?.value_type === "boolean";
      const value = boolean && event.value !== null ? Number(event.value) !== 0 : event.value;
      known.figures.set(event.definition, {
        ...(figure || { definition: event.definition, freshness_deadline_seconds: 0 }),
        value, observed_at: event.observed_at, reported: value !== null, stale: false,
      });
    }
    known.highlightUntil = Date.now() + HIGHLIGHT_MS;
    const label = this.items[event.definition]?.label || event.definition;
    known.highlightText = `${label}: ${event.previous ?? "–"} → ${event.value ?? "–"}`;
    return true;
  }
}

export class BoardView {
  constructor(root, config, model) {
    this.root = root;
    this.config = config;
    this.model = model;
    this.filter = { sector: "", text: "" };
    // Called with (location, code) when a figure's "trend" button is pressed.
    this.onTrend = null;
    // The planning actions ({hold(location, category), book(location), visit(location, unit)}):
    // set for a ZCV, null for a provider (it answers requests, it does not make them).
    this.actions = null;
    this.holds = new Map((config.planning?.holds || []).map((h) => [h.item, h]));
    this.consultItems = new Set(config.planning?.consult_items || []);
    this.visitKinds = new Set((config.planning?.visit_kinds || []).map((k) => k.kind));
    this.sort = new Map(config.sectors.map((s) => [s.sector, { key: "name", ascending: true }]));
  }

  /** The locations that pass the sector and text filters. */
  visibleLocations() {
    const text = this.filter.text.trim().toLowerCase();
    return [...this.model.locations.values()].filter((l) =>
      (!this.filter.sector || l.sector === this.filter.sector)
      && (!text || `${l.name} ${l.location_id} ${l.organization_id}`.toLowerCase()
        .includes(text)));
  }

  render() {
    const now = serverNow();
    const visible = this.visibleLocations();
    const tables = [];
    for (const board of this.config.sectors) {
      const rows = visible.filter((l) => l.sector === board.sector);
      if (rows.length) tables.push(this.table(board, rows, now));
    }
    if (!tables.length) {
      tables.push(element("p", { class: "muted", text: "No locations match the filters." }));
    }
    this.root.replaceChildren(...tables);
  }

  table(board, locations, now) {
    const columns = board.columns.filter((c) => locations.some(
      (l) => c.codes.some((code) => l.figures.has(code))));
    const order = this.sort.get(board.sector);
    this.sortRows(locations, columns, order);
    const caption = element("caption", {
      text: `${board.title} · ${locations.length} location${locations.length === 1 ? "" : "s"}`,
    });
    const head = element("tr", {},
      this.header(board, { key: "name", heading: "Location" }, order),
      element("th", { scope: "col", text: "Region" }),
      ...columns.map((c) => this.header(board, c, order)));
    const body = locations.map((l) => this.row(l, columns, now));
    return element("div", { class: "table-scroll" },
      element("table", { class: "board-table", "data-sector": board.sector },
        caption, element("thead", {}, head), element("tbody", {}, ...body)));
  }

  header(board, column, order) {
    const active = order.key === column.key;
    const th = element("th", { scope: "col" });
    if (active) th.setAttribute("aria-sort", order.ascending ? "ascending" : "descending");
    const title = column.codes && column.codes.length === 1
      ? this.config.items[column.codes[0]]?.label : column.heading;
    const button = element("button", { type: "button", class: "sort", title: title || "",
      "data-sort": column.key, text: column.heading });
    button.append(element("span", { "aria-hidden": "true",
      text: active ? (order.ascending ? " ▲" : " ▼") : "" }));
    button.addEventListener("click", () => {
      this.sort.set(board.sector, {
        key: column.key, ascending: active ? !order.ascending : column.key === "name",
      });
      this.render();
    });
    th.append(button);
    return th;
  }

  sortRows(locations, columns, order) {
    const column = columns.find((c) => c.key === order.key);
    const key = (l) => (column ? sortValue(l.figures.get(column.codes[0])) : l.name);
    const direction = order.ascending ? 1 : -1;
    locations.sort((a, b) => {
      const x = key(a);
      const y = key(b);
      if (x === y) return a.name.localeCompare(b.name);
      if (x === null) return 1;  // unknown last, whichever way
      if (y === null) return -1;
      return (typeof x === "number" && typeof y === "number" ? x - y
        : String(x).localeCompare(String(y))) * direction;
    });
  }

  row(location, columns, now) {
    const highlighted = location.highlightUntil > Date.now();
    const name = element("th", { scope: "row" },
      element("span", { class: "name", text: location.name }),
      highlighted ? element("span", { class: "flag changed", text: "changed" }) : null,
      ...this.rowActions(location));
    const cells = columns.map((c) => {
      if (c.render === "seh") return this.sehCell(location, now);
      if (c.render === "stops") return this.stopsCell(location, c, now);
      return this.holdAction(location, c.codes[0], this.trend(location, c.codes[0],
        this.figureCell(location.figures.get(c.codes[0]), c.codes[0], now)));
    });
    const tr = element("tr", { "data-location": location.location_id,
      class: highlighted ? "highlight" : "" }, name,
      element("td", { text: location.roaz_region }), ...cells);
    if (highlighted && location.highlightText) tr.title = location.highlightText;
    return tr;
  }

  figureCell(figure, code, now, content) {
    const td = element("td", { "data-definition": code });
    if (!figure) {
      td.className = "fig missing";
      td.append(element("span", { class: "none", text: "–", title: "never sent" }),
        element("span", { class: "visually-hidden", text: "never sent" }));
      return td;
    }
    const stale = isStale(figure, now);
    const reported = figure.value !== null && figure.value !== undefined;
    td.className = `fig${stale ? " stale" : ""}${reported ? "" : " not-reported"}`;
    td.title = `${this.config.items[code]?.label || code}: observed ${
      formatMoment(figure.observed_at)}${figure.not_reported_reason
      ? ` (${figure.not_reported_reason})` : ""}`;
    td.append(content || element("span", {
      class: reported ? "value" : "value nr", text: valueText(figure, this.config.items[code]),
    }));
    if (typeof figure.held === "number" && figure.held > 0) {
      // Holds never change the provider's figure: shown beside it (docs/planning.md).
      td.append(element("span", { class: "held", title: `${figure.available_unheld ?? "?"
      } not held`, text: ` free · ${figure.held} held` }));
    }
    td.append(" ", element("span", { class: "age", text: formatAge(ageSeconds(figure, now)) }));
    if (stale) td.append(" ", element("span", { class: "flag stale", text: "stale" }));
    const flags = figure.flags || [];
    if (flags.length) {
      // Breaks a consistency rule with the location's other figures (from the snapshot; a
      // live figure event does not say, so a newer figure shows no mark until a reload).
      td.append(" ", element("span", { class: "flag check", text: "check",
        title: flags.map((f) => f.message).join("\n") }));
    }
    return td;
  }

  /** "book" for a GP practice that reports free consults; "request visit" per visit car or
   * district-nursing team of the location's organisation. */
  rowActions(location) {
    if (!this.actions) return [];
    const buttons = [];
    const free = [...this.consultItems].map((code) => location.figures.get(code))
      .some((f) => f && typeof f.value === "number" && f.value > 0);
    if (location.sector === "gp-practice" && free) {
      buttons.push(this.actionButton("book", `Book a consult at ${location.name}`,
        () => this.actions.book(location)));
    }
    const units = [...this.model.units.values()].filter((u) => this.visitKinds.has(u.kind)
      && u.organization_id === location.organization_id)
      .sort((a, b) => a.label.localeCompare(b.label));
    for (const unit of units) {
      buttons.push(this.actionButton("request visit", `Request a visit of ${unit.label} (${
        location.name})`, () => this.actions.visit(location, unit), { unit: unit.id }));
    }
    return buttons.length ? [element("span", { class: "row-actions" }, ...buttons)] : [];
  }

  /** A holdable bed figure gets a "hold" button (the API says 409 when none is left). */
  holdAction(location, code, td) {
    const hold = this.holds.get(code);
    if (!this.actions || !hold || hold.sector !== location.sector || !location.figures.has(code)) {
      return td;
    }
    td.append(" ", this.actionButton("hold", `Hold a place: ${hold.label} at ${location.name}`,
      () => this.actions.hold(location, hold)));
    return td;
  }

  actionButton(text, label, onClick, data = {}) {
    const button = element("button", { type: "button", class: "act", text, title: label,
      "aria-label": label });
    for (const [key, value] of Object.entries(data)) button.dataset[key] = value;
    button.addEventListener("click", onClick);
    return button;
  }

  /** A figure that has forecasts gets a button that opens its last 24 and next 4 hours. */
  trend(location, code, td) {
    if (!this.onTrend || !this.config.items[code]?.forecast || !location.figures.has(code)) {
      return td;
    }
    const label = this.config.items[code]?.label || code;
    const button = element("button", { type: "button", class: "trend", text: "trend",
      title: `${label}: last 24 hours and the next 4`,
      "aria-label": `${label} at ${location.name}: last 24 hours and the next 4` });
    button.addEventListener("click", () => this.onTrend(location, code));
    td.append(" ", button);
    return td;
  }

  sehCell(location, now) {
    const [statusCode, reasonCode, endCode] = ["hospital.seh.status",
      "hospital.seh.status_reason", "hospital.seh.status_expected_end"];
    const status = location.figures.get(statusCode);
    if (!status || status.value === null) return this.figureCell(status, statusCode, now);
    const content = element("span", { class: `value seh seh-${status.value}`,
      text: valueText(status, this.config.items[statusCode]) });
    if (status.value !== "open") {
      const reason = location.figures.get(reasonCode);
      const end = location.figures.get(endCode);
      if (reason && reason.value !== null) {
        content.append(element("span", { class: "reason",
          text: ` · ${valueText(reason, this.config.items[reasonCode])}` }));
      }
      if (end && end.value !== null) {
        content.append(element("span", { class: "until", text: ` · until ${formatClock(end.value)}` }));
      }
    }
    return this.figureCell(status, statusCode, now, content);
  }

  stopsCell(location, column, now) {
    const known = column.codes.map((code) => [code, location.figures.get(code)])
      .filter(([, f]) => f && f.value !== null);
    const on = known.filter(([, f]) => f.value === true)
      .map(([code]) => code.split(".").pop().toUpperCase());
    const newest = known.map(([, f]) => f)
      .sort((a, b) => Date.parse(b.observed_at) - Date.parse(a.observed_at))[0];
    const td = this.figureCell(newest, column.key, now, element("span", {
      class: on.length ? "value stops-on" : "value", text: on.length ? on.join(", ") : "none",
    }));
    td.dataset.definition = "admission-stops";
    return td;
  }
}
