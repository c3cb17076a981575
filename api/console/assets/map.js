// The map: locations coloured by availability and freshness, mobile units moving live, and a
// clicked point to search the nearest places from. Background tiles come from the configured
// tile server; when they cannot load, everything else still shows.

import * as L from "/console/vendor/leaflet/leaflet-src.esm.js";
import { ageSeconds, formatAge, locationState, serverNow } from "./figures.js";

const NETHERLANDS = [[50.75, 3.35], [53.55, 7.25]];

export class MapView {
  constructor(element, config, { onPick, onTileTrouble, onUnit }) {
    this.onUnit = onUnit || (() => {});
    this.config = config;
    this.boards = new Map(config.sectors.map((s) => [s.sector, s]));
    // The kinds of unit with their map letter and name: core/mobile_units.py, via the config.
    this.unitKinds = new Map(config.unit_kinds.map((k) => [k.kind, k]));
    this.map = L.map(element, { preferCanvas: false }).fitBounds(NETHERLANDS);
    this.map.attributionControl.setPrefix("Leaflet");
    const tiles = L.tileLayer(config.tile_url, {
      attribution: config.tile_attribution, maxZoom: 19, crossOrigin: false,
    }).addTo(this.map);
    let told = false;
    tiles.on("tileerror", () => {
      if (!told) onTileTrouble();
      told = true;
    });
    this.locationLayer = L.layerGroup().addTo(this.map);
    this.unitLayer = L.layerGroup().addTo(this.map);
    this.pickLayer = L.layerGroup().addTo(this.map);
    this.locationMarkers = new Map();
    this.unitMarkers = new Map();
    this.fitted = false;
    this.map.on("click", (e) => this.pick(e.latlng, onPick));
  }

  pick(latlng, onPick) {
    this.pickLayer.clearLayers();
    L.circleMarker(latlng, { radius: 6, className: "picked", color: "#000", weight: 2 })
      .bindTooltip("search point").addTo(this.pickLayer);
    onPick(latlng.lat, latlng.lng);
  }

  /** Draw every location of the board (all sectors), coloured by its state. */
  showLocations(locations) {
    const now = serverNow();
    const seen = new Set();
    for (const location of locations) {
      seen.add(location.location_id);
      const state = locationState(location, this.boards.get(location.sector), now);
      const text = `${location.name} (${location.sector}): ${state.text}`;
      let marker = this.locationMarkers.get(location.location_id);
      if (!marker) {
        marker = L.circleMarker([location.latitude, location.longitude], { radius: 8 })
          .bindTooltip(text).addTo(this.locationLayer);
        this.locationMarkers.set(location.location_id, marker);
      }
      marker.setLatLng([location.latitude, location.longitude]);
      marker.setStyle({ className: `loc ${state.level}` });
      marker.setTooltipContent(text);
      const path = marker.getElement();
      if (path) {
        path.setAttribute("class", `leaflet-interactive loc ${state.level}`);
        path.dataset.location = location.location_id;
        path.dataset.state = state.level;
      }
    }
    for (const [id, marker] of this.locationMarkers) {
      if (!seen.has(id)) {
        marker.remove();
        this.locationMarkers.delete(id);
      }
    }
    this.fit();
  }

  /** A unit's latest position, as /v1/units or a `position` event gives it. */
  showUnit(unit) {
    const known = this.unitMarkers.get(unit.id);
    if (known && Date.parse(known.unit.observed_at) > Date.parse(unit.observed_at)) return;
    const chip = document.createElement("span");
    chip.className = `unit-chip ${unit.available ? "available" : ""}${unit.stale ? " stale" : ""}`;
    chip.dataset.unit = unit.id;
    chip.dataset.kind = unit.kind;
    chip.textContent = this.unitKinds.get(unit.kind)?.letter || "?";
    const icon = L.divIcon({ html: chip, className: "unit-icon", iconSize: [22, 22] });
    const text = this.unitText(unit);
    if (known) {
      known.marker.setLatLng([unit.latitude, unit.longitude]).setIcon(icon)
        .setTooltipContent(text);
      known.unit = unit;
      return;
    }
    const marker = L.marker([unit.latitude, unit.longitude], { icon, keyboard: false, title: text })
      .bindTooltip(text).addTo(this.unitLayer);
    // A visit car or district-nursing team: clicking it asks for a visit (app.js decides).
    marker.on("click", () => this.onUnit(this.unitMarkers.get(unit.id)?.unit || unit));
    this.unitMarkers.set(unit.id, { marker, unit });
  }

  clearUnits() {
    this.unitLayer.clearLayers();
    this.unitMarkers.clear();
  }

  unitText(unit) {
    const status = unit.status
      ? ` · status ${unit.status} ${this.config.vehicle_statuses[unit.status]?.name || ""}` : "";
    const age = formatAge(ageSeconds(unit));
    return `${this.unitKinds.get(unit.kind)?.label || unit.kind} ${unit.label}${status} · ${
      unit.available ? "available" : "not available"} · ${age} ago${unit.stale ? " (stale)" : ""}`;
  }

  fit() {
    if (this.fitted || !this.locationMarkers.size) return;
    const bounds = L.latLngBounds([...this.locationMarkers.values()].map((m) => m.getLatLng()));
    this.map.fitBounds(bounds.pad(0.2), { maxZoom: 11 });
    this.fitted = true;
  }

  refit() {
    this.fitted = false;
    this.fit();
  }

  /** Mark the nearest results on the map. */
  showNearest(points) {
    for (const layer of this.pickLayer.getLayers().slice(1)) layer.remove();
    for (const point of points) {
      L.circleMarker([point.latitude, point.longitude], { radius: 13, className: "nearest-ring",
        weight: 3, fill: false }).bindTooltip(point.text).addTo(this.pickLayer);
    }
  }

  invalidate() {
    this.map.invalidateSize();
  }
}
