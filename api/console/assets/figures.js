// Pure rules about figures: age, staleness, display text, and whether a location has a place.
// No DOM here; the board and the map both use these so they never disagree.

/** The server's clock minus ours, learned from each snapshot's `generated_at`. */
let clockOffsetMs = 0;

export function learnServerClock(generatedAt) {
  const server = Date.parse(generatedAt);
  if (!Number.isNaN(server)) clockOffsetMs = server - Date.now();
}

export function serverNow() {
  return Date.now() + clockOffsetMs;
}

export function ageSeconds(figure, now = serverNow()) {
  return Math.max(0, (now - Date.parse(figure.observed_at)) / 1000);
}

/** Stale when the server said so, or when it has aged past its deadline since. */
export function isStale(figure, now = serverNow()) {
  if (figure.stale) return true;
  const deadline = figure.freshness_deadline_seconds;
  return deadline > 0 && ageSeconds(figure, now) > deadline;
}

export function formatAge(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

export function formatClock(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleTimeString("nl-NL", { hour: "2-digit", minute: "2-digit" });
}

export function formatMoment(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString("nl-NL", { dateStyle: "short", timeStyle: "medium" });
}

/** A reported value as text, in the words of its definition (code labels, units). */
export function valueText(figure, item) {
  const value = figure.value;
  if (value === null || value === undefined) return "not reported";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (item && item.value_type === "code") return item.codes[value] || String(value);
  if (item && item.value_type === "datetime") return formatClock(value);
  if (typeof value === "number") {
    const shown = Number.isInteger(value) ? String(value) : value.toFixed(1);
    return item && item.unit === "%" ? `${shown} %` : withUnit(shown, item);
  }
  return String(value);
}

function withUnit(text, item) {
  const unit = item ? item.unit : "";
  if (!unit || unit === "1" || unit === "code" || unit.startsWith("{")) return text;
  return `${text} ${unit}`;
}

/** A number to sort by: reported numbers as they are; everything else sorts last. */
export function sortValue(figure) {
  if (!figure || figure.value === null || figure.value === undefined) return null;
  if (typeof figure.value === "number") return figure.value;
  if (typeof figure.value === "boolean") return figure.value ? 1 : 0;
  return String(figure.value);
}

/** Merge figures into a map by definition: a figure replaces one observed no later. */
export function mergeFigures(known, figures) {
  let changed = false;
  for (const figure of figures) {
    const current = known.get(figure.definition);
    if (!current || Date.parse(current.observed_at) <= Date.parse(figure.observed_at)) {
      const next = { ...figure };
      if (figure.held == null && typeof current?.held === "number") {
        // A live figure event does not carry the holds: they stand until the next snapshot.
        next.held = current.held;
        next.available_unheld = typeof next.value === "number"
          ? Math.max(0, next.value - current.held) : null;
      }
      known.set(figure.definition, next);
      changed = true;
    }
  }
  return changed;
}

const STOPPED = new Set(["stop", "time-out"]);

/**
 * What a location's state is, for the map's colour and its words:
 * "stop" (SEH stop or time-out), "places" (a fresh count above 0 of one of the sector's place
 * items), "full" (fresh counts, all 0), "unknown" (nothing fresh and reported).
 */
export function locationState(location, sectorBoard, now = serverNow()) {
  const seh = location.figures.get("hospital.seh.status");
  if (seh && STOPPED.has(seh.value) && !isStale(seh, now)) {
    return { level: "stop", text: `SEH ${seh.value}` };
  }
  const places = (sectorBoard ? sectorBoard.places : [])
    .map((code) => location.figures.get(code))
    .filter((f) => f && typeof f.value === "number" && !isStale(f, now));
  if (places.length === 0) return { level: "unknown", text: "stale or not reported" };
  const total = places.reduce((sum, f) => sum + f.value, 0);
  return total > 0
    ? { level: "places", text: `${total} place${total === 1 ? "" : "s"}` }
    : { level: "full", text: "no place" };
}
