// The ZCV console: sign in with a token, load the snapshot (availability, busyness, units,
// alerts, planning requests) for the chosen region, then follow /v1/stream. Everything the page
// shows comes from the API with the user's token; the page itself holds no data. A provider's
// token opens the same page on its own locations: it answers planning requests, it makes none.

import { AlertList } from "./alerts.js";
import { BoardModel, BoardView } from "./board.js";
import { ageSeconds, formatAge, isStale, learnServerClock } from "./figures.js";
import { ForecastPanel } from "./forecast.js";
import { PlanningForm, RequestList } from "./planning.js";
import { ApiError, Session, SignedOut } from "./session.js";
import { LiveStream } from "./stream.js";

const config = JSON.parse(document.getElementById("console-config").textContent);
const $ = (id) => document.getElementById(id);
const TICK_MS = 5_000;
const COUNTDOWN_MS = 1_000;
const NEAREST_COUNT = 5;

function announce(text) {
  $("announce").textContent = text;
}

class Console {
  constructor(session) {
    this.session = session;
    this.provider = session.claims.role === "provider";
    this.model = new BoardModel(config.items);
    this.board = new BoardView($("board-tables"), config, this.model);
    const names = {
      location: (id) => this.model.locations.get(id)?.name || id,
      unit: (id) => this.model.units.get(id)?.label || id,
    };
    this.requests = new RequestList($("request-list"), $("requests-status"), session, config, {
      names, announce, changed: () => this.refreshPlanned() });
    this.form = new PlanningForm($("planning"), session, config, {
      announce,
      picked: () => this.picked,
      done: () => {
        this.requests.reload();
        this.refreshPlanned();
      },
    });
    if (!this.provider) {
      this.board.actions = {
        hold: (location, hold) => this.form.hold(location, hold),
        book: (location) => this.form.book(location),
        visit: (location, unit) => this.form.visit(location, unit),
      };
    }
    this.forecast = new ForecastPanel($("forecast"), session, config);
    this.board.onTrend = (location, code) => this.forecast.show(location, code);
    this.alerts = new AlertList($("alert-list"), $("alerts-status"), session, {
      announce,
      locationName: (id) => this.model.locations.get(id)?.name || id,
    });
    this.map = null;
    this.stream = null;
    this.timers = [];
    this.renderPending = false;
    this.lostSince = null;
    this.picked = null;
  }

  async start() {
    this.fillFilters();
    this.timers.push(setInterval(() => this.scheduleRender(), TICK_MS));
    this.timers.push(setInterval(() => this.requests.tick(), COUNTDOWN_MS));
    const expiry = this.session.expiresAt;
    if (expiry) {
      this.timers.push(setTimeout(() => this.session.onSignedOut(
        "The token has expired: sign in with a new one."), Math.max(0, expiry - Date.now())));
    }
    await this.loadMap();
    await this.reload();
    this.connect();
  }

  stop() {
    if (this.stream) this.stream.stop();
    this.timers.forEach((t) => clearInterval(t));
    this.form.close();
    this.timers = [];
  }

  /** Region choices: the token's regions and their neighbours, or every region (national). */
  fillFilters() {
    $("requests-title").textContent = this.provider ? "Requests for your locations"
      : "Open requests";
    // A provider reads its own organisation's locations, whatever their region.
    $("filter-neighbours").closest("label").hidden = this.provider;
    const own = this.provider ? [] : this.session.regions;
    const readable = own === null ? config.regions : config.regions.filter((r) => own.includes(
      r.code) || own.some((o) => r.neighbours.includes(o)));
    const options = own === null ? [{ code: "", name: "all regions (national)" }] : [];
    options.push(...readable);
    $("filter-region").replaceChildren(...options.map((r) => {
      const option = document.createElement("option");
      option.value = r.code;
      option.textContent = r.name;
      return option;
    }));
    if (this.provider) $("filter-region").replaceChildren(new Option(
      "your organisation's locations", ""));
    if (own && own.length) $("filter-region").value = own[0];
    $("filter-sector").replaceChildren($("filter-sector").options[0], ...config.sectors.map((s) => {
      const option = document.createElement("option");
      option.value = s.sector;
      option.textContent = s.title;
      return option;
    }));
    $("nearest-category").replaceChildren(...config.bed_categories.map((c) => {
      const option = document.createElement("option");
      option.value = c.code;
      option.textContent = c.label;
      return option;
    }));
    $("nearest-category").value = "hospital.beds.ic.available";
  }

  /** The region scope asked for: {region, neighbours}. */
  scope() {
    const region = $("filter-region").value;
    return { region: region || null, neighbours: region ? $("filter-neighbours").checked : null };
  }

  /** The regions in scope, for the per-region unit query (null: national). */
  scopeRegions() {
    const { region, neighbours } = this.scope();
    if (!region) return null;
    const found = config.regions.find((r) => r.code === region);
    return neighbours && found ? [region, ...found.neighbours] : [region];
  }

  async reload() {
    const params = this.scope();
    $("board-status").textContent = "Loading…";
    const [available, busy] = await Promise.all([
      this.session.json("/v1/availability", { params }),
      // Region busyness is the ZCV's view; a provider sees its figures on availability.
      this.provider ? { locations: [] } : this.session.json("/v1/busyness", { params }),
    ]);
    learnServerClock(available.generated_at);
    this.model.clear();
    for (const location of [...available.locations, ...busy.locations]) this.model.merge(location);
    $("board-status").textContent = `Snapshot of ${available.locations.length} locations loaded`;
    this.scheduleRender();
    await Promise.all([this.reloadUnits(), this.reloadAlerts(), this.requests.reload()]);
  }

  /** Holds beside the figures and free consults less bookings: a fresh snapshot of those
   * items (a figure event does not carry the holds or the bookings). */
  async refreshPlanned() {
    try {
      const answer = await this.session.json("/v1/availability", { params: this.scope() });
      const holdable = new Set([...(config.planning?.holds || []).map((h) => h.item),
                                ...(config.planning?.consult_items || [])]);
      for (const location of answer.locations) {
        const figures = location.figures.filter((f) => holdable.has(f.definition));
        if (figures.length && this.model.locations.has(location.location_id)) {
          this.model.merge({ ...location, figures });
        }
      }
      this.scheduleRender();
    } catch (error) {
      if (!(error instanceof SignedOut)) $("board-status").textContent = `Holds and bookings cannot be read: ${
        error.message}`;
    }
  }

  async reloadUnits() {
    if (!this.map) return;
    const regions = this.scopeRegions();
    const answers = await Promise.all((regions || [null]).map(
      (region) => this.session.json("/v1/units", { params: { region } })));
    this.map.clearUnits();
    answers.flat().forEach((unit) => {
      this.model.unit(unit);
      this.map.showUnit(unit);
    });
    this.scheduleRender();
  }

  async reloadAlerts() {
    try {
      const answer = await this.session.json("/v1/alerts", { params: { state: "open" } });
      this.alerts.replace(answer.alerts);
    } catch (error) {
      if (error instanceof SignedOut) throw error;
      $("alerts-status").textContent = `Alerts cannot be read: ${error.message}`;
    }
  }

  connect() {
    if (this.stream) this.stream.stop();
    const { region, neighbours } = this.scope();
    this.stream = new LiveStream(this.session, { region, neighbours }, {
      onEvent: (name, data) => this.onEvent(name, data),
      onState: (state, detail, attempt) => this.onConnection(state, detail, attempt),
    }).start();
  }

  onEvent(name, data) {
    if (name === "figure") {
      if (this.model.merge(data)) this.scheduleRender();
    } else if (name === "status") {
      if (this.model.status(data)) {
        announce(`${data.name}: ${data.definition} is now ${data.value ?? "not reported"}`);
        this.scheduleRender();
      }
    } else if (name === "stale" || name === "fresh") {
      if (this.model.markStale(data)) this.scheduleRender();
    } else if (name === "position") {
      const known = this.model.units.has(data.id);
      this.model.unit(data);
      if (!known) this.scheduleRender();
      if (this.map) this.map.showUnit(data);
    } else if (name === "planning") {
      this.requests.soon();
      if (data.kind !== "visit") this.refreshPlanned();
    } else if (name === "alert") {
      this.alerts.update(data);
    } else if (name === "reset") {
      this.reload().catch((error) => this.failed(error));
    }
  }

  onConnection(state, detail, attempt) {
    const live = $("live");
    const banner = $("connection-lost");
    if (state === "open") {
      live.dataset.state = "live";
      live.querySelector(".text").textContent = "Live";
      if (this.lostSince) announce("Live updates are back.");
      this.lostSince = null;
      banner.hidden = true;
      return;
    }
    this.lostSince = this.lostSince || new Date();
    live.dataset.state = "lost";
    live.querySelector(".text").textContent = "Connection lost";
    banner.textContent = `Live updates lost since ${this.lostSince.toLocaleTimeString("nl-NL")} (${
      detail}). Reconnecting${attempt > 1 ? ` (attempt ${attempt})` : ""}… Figures shown may be`
      + " out of date: check their age.";
    banner.hidden = false;
  }

  scheduleRender() {
    if (this.renderPending) return;
    this.renderPending = true;
    requestAnimationFrame(() => {
      this.renderPending = false;
      this.render();
    });
  }

  render() {
    const focused = document.activeElement?.dataset?.sort;
    const sector = document.activeElement?.closest?.("table")?.dataset.sector;
    this.board.filter = { ...this.board.filter, sector: $("filter-sector").value,
                          text: $("filter-text").value };
    this.board.render();
    if (focused && sector) {
      document.querySelector(`table[data-sector="${sector}"] [data-sort="${focused}"]`)?.focus();
    }
    if (this.map) this.map.showLocations(this.board.visibleLocations());
  }

  async loadMap() {
    try {
      const { MapView } = await import("./map.js");
      this.map = new MapView($("map"), config, {
        onPick: (lat, lon) => {
          this.picked = { lat, lon };
          if (!this.provider) this.nearest(lat, lon);
        },
        onUnit: (unit) => {
          if (this.board.actions && this.board.visitKinds.has(unit.kind)) {
            this.board.actions.visit(null, this.model.units.get(unit.id) || unit);
          }
        },
        onTileTrouble: () => {
          $("map-notice").textContent = "The background map cannot be loaded; locations and "
            + "units are still shown.";
          $("map-notice").hidden = false;
        },
      });
    } catch (error) {
      $("map-notice").textContent = `The map is not available: ${error.message}`;
      $("map-notice").hidden = false;
    }
  }

  async nearest(lat, lon) {
    this.picked = { lat, lon };
    $("nearest").hidden = false;
    const near = `${lat.toFixed(5)},${lon.toFixed(5)}`;
    const item = $("nearest-category").value;
    $("nearest-hospitals").replaceChildren(listItem("Searching…"));
    $("nearest-ambulances").replaceChildren(listItem("Searching…"));
    try {
      const [hospitals, ambulances] = await Promise.all([
        this.session.json("/v1/availability", {
          params: { ...this.scope(), near, item, sector: "hospital" } }),
        this.session.json("/v1/units/nearest", {
          params: { near, kind: "ambulance", n: NEAREST_COUNT } }),
      ]);
      const withPlace = hospitals.locations.map((l) => [l, l.figures.find(
        (f) => f.definition === item)]).filter(([, f]) => f && typeof f.value === "number"
        && f.value > 0 && !isStale(f)).slice(0, NEAREST_COUNT);
      $("nearest-hospitals").replaceChildren(...(withPlace.length ? withPlace.map(([l, f]) =>
        listItem(`${l.name} · ${l.distance_km.toFixed(1)} km · ${f.value} free · ${
          formatAge(ageSeconds(f))} old`, { location: l.location_id }))
        : [listItem("No hospital in scope reports a free bed of this category.")]));
      $("nearest-ambulances").replaceChildren(...(ambulances.length ? ambulances.map((u) =>
        listItem(`${u.label} · ${u.distance_km.toFixed(1)} km · status ${u.status ?? "?"} ${
          config.vehicle_statuses[u.status]?.name || ""} · ${formatAge(ageSeconds(u))} old`,
        { unit: u.id }))
        : [listItem("No available ambulance found.")]));
      if (this.map) {
        this.map.showNearest([
          ...withPlace.map(([l]) => ({ latitude: l.latitude, longitude: l.longitude,
                                        text: l.name })),
          ...ambulances.map((u) => ({ latitude: u.latitude, longitude: u.longitude,
                                      text: u.label }))]);
      }
    } catch (error) {
      if (error instanceof SignedOut) return;
      $("nearest-hospitals").replaceChildren(listItem(`Search failed: ${error.message}`));
      $("nearest-ambulances").replaceChildren();
    }
  }

  failed(error) {
    if (error instanceof SignedOut) return;
    $("board-status").textContent = `Could not load the board: ${error.message}`;
  }
}

function listItem(text, data = {}) {
  const li = document.createElement("li");
  li.textContent = text;
  for (const [key, value] of Object.entries(data)) li.dataset[key] = value;
  return li;
}

// --- signing in and out -------------------------------------------------------------------

let current = null;

function showSignIn(message) {
  if (current) current.stop();
  current = null;
  $("console").hidden = true;
  $("sign-out").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  $("live").dataset.state = "off";
  $("live").querySelector(".text").textContent = "Not connected";
  $("connection-lost").hidden = true;
  const error = $("sign-in-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("token").focus();
}

async function open(session) {
  session.onSignedOut = (message) => {
    session.forget();
    showSignIn(message);
  };
  $("sign-in").hidden = true;
  $("console").hidden = false;
  $("sign-out").hidden = false;
  const regions = session.regions;
  $("who").textContent = `${session.claims.org || session.claims.sub || "signed in"} · ${
    regions === null ? "national" : regions.join(", ")}`;
  $("who").hidden = false;
  current = new Console(session);
  try {
    await current.start();
  } catch (error) {
    if (error instanceof SignedOut) return;
    current.failed(error);
  }
}

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  $("token").value = "";
  const session = new Session(token);
  const role = session.claims.role;
  if (role && role !== "zcv" && role !== "provider") {
    showSignIn(`This console is for care coordination centres (role zcv) and providers `
      + `answering their requests; this token is for role ${role}.`);
    return;
  }
  session.remember();
  open(session);
});

$("sign-out").addEventListener("click", () => {
  Session.restore()?.forget();
  showSignIn("Signed out.");
});

for (const id of ["filter-sector", "filter-text"]) {
  $(id).addEventListener("input", () => current && current.scheduleRender());
}
for (const id of ["filter-region", "filter-neighbours"]) {
  $(id).addEventListener("change", () => {
    if (!current) return;
    current.reload().then(() => {
      current.map?.refit();
      current.connect();
    }).catch((error) => current.failed(error));
  });
}
$("nearest-category").addEventListener("change", () => {
  if (current && current.picked) current.nearest(current.picked.lat, current.picked.lon);
});
$("filters").addEventListener("submit", (event) => event.preventDefault());

const restored = Session.restore();
if (restored) open(restored);
else showSignIn();
