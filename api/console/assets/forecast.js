// The next hours of one figure: its last 24 hours (GET /v1/history, hourly) and the next 4
// (GET /v1/forecast) as a small chart, with the 80 % interval as a band and the backtest's
// verdict in words. Opened from a figure's "trend" button on the board; drawn as SVG with DOM
// calls (no HTML from data).

import { formatClock } from "./figures.js";
import { ApiError } from "./session.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 320;
const HEIGHT = 130;
const PAD = { left: 34, right: 8, top: 10, bottom: 20 };
const PAST_HOURS = 24;

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function line(points) {
  return points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join("");
}

const LABELS = { model: "forecast", "last-value": "last value",
                 "same-hour-last-week": "same hour last week" };

/** The verdict in words: what is drawn, and how it did in the backtest. */
export function verdictText(forecast) {
  const scores = forecast.backtest.scores;
  const shown = scores[forecast.method];
  const mae = (m) => (scores[m]?.mae ?? null) === null ? "–" : scores[m].mae.toFixed(1);
  const coverage = shown?.coverage == null ? "" : `; its 80 % interval held ${
    Math.round(shown.coverage * 100)} % of the figures`;
  if (forecast.verdict === "forecast") {
    return `Forecast: in the backtest its error was ${mae("model")} against ${
      mae(forecast.backtest.better_baseline)} for the ${
      LABELS[forecast.backtest.better_baseline]}${coverage}.`;
  }
  return `No reliable forecast: showing the ${LABELS[forecast.method]} (${forecast.reason}).`;
}

export class ForecastPanel {
  constructor(section, session, config) {
    this.section = section;
    this.session = session;
    this.config = config;
    this.asked = null;
  }

  /** Show `code` at `location` (a board location): load, then draw. */
  async show(location, code) {
    const asked = `${location.location_id}|${code}`;
    this.asked = asked;
    const label = this.config.items[code]?.label || code;
    this.section.hidden = false;
    const title = this.section.querySelector("h2");
    title.textContent = `${label} · ${location.name}`;
    const body = this.section.querySelector(".forecast-body");
    body.replaceChildren(text("p", "muted", "Loading the last 24 hours and the next 4…"));
    const to = new Date();
    const from = new Date(to.getTime() - PAST_HOURS * 3_600_000);
    try {
      const [history, forecast] = await Promise.all([
        this.session.json("/v1/history", { params: {
          location: location.location_id, definition: code, resolution: "1h",
          from: from.toISOString(), to: to.toISOString() } }),
        this.session.json("/v1/forecast", { params: { location: location.location_id,
                                                      item: code } }),
      ]);
      if (this.asked !== asked) return;  // another figure was asked meanwhile
      body.replaceChildren(chart(history.points, forecast, this.config.items[code]),
        text("p", `verdict ${forecast.verdict === "forecast" ? "reliable" : "unreliable"}`,
          verdictText(forecast)));
    } catch (error) {
      if (this.asked !== asked) return;
      const words = error instanceof ApiError && error.status === 404
        ? "No forecast for this figure yet: it needs recent hourly history, and the forecaster "
          + "runs every 15 minutes." : `The forecast cannot be read: ${error.message}`;
      body.replaceChildren(text("p", "muted", words));
    }
  }
}

function text(tag, className, words) {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = words;
  return node;
}

/** The chart: past hours as a line, the hours ahead dashed inside their interval band. */
function chart(history, forecast, item) {
  const past = history.filter((p) => typeof p.value === "number")
    .map((p) => [Date.parse(p.bucket), p.value]);
  const ahead = forecast.points.map((p) => [Date.parse(p.at), p.value, p.lower, p.upper]);
  const times = [...past.map(([t]) => t), ...ahead.map(([t]) => t)];
  const values = [...past.map(([, v]) => v), ...ahead.flatMap(([, v, lo, hi]) => [v, lo, hi])];
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const low = Math.min(0, ...values);
  const high = Math.max(1, ...values);
  const x = (t) => PAD.left + (t - t0) / Math.max(t1 - t0, 1) * (WIDTH - PAD.left - PAD.right);
  const y = (v) => HEIGHT - PAD.bottom - (v - low) / (high - low)
    * (HEIGHT - PAD.top - PAD.bottom);
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "forecast-chart",
    role: "img", "aria-label": `${item?.label || forecast.definition}: last 24 hours and the `
      + `next ${ahead.length}` });
  root.append(svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(low), y2: y(low),
                            class: "axis" }));
  for (const v of [low, high]) {
    const label = svg("text", { x: PAD.left - 4, y: y(v) + 4, class: "tick",
                                "text-anchor": "end" });
    label.textContent = String(Math.round(v));
    root.append(label);
  }
  if (ahead.length) {
    const band = [...ahead.map(([t, , , hi]) => [x(t), y(hi)]),
                  ...ahead.slice().reverse().map(([t, , lo]) => [x(t), y(lo)])];
    root.append(svg("path", { d: `${line(band)}Z`, class: "band" }));
    const join = past.length ? [[x(past.at(-1)[0]), y(past.at(-1)[1])]] : [];
    root.append(svg("path", { d: line([...join, ...ahead.map(([t, v]) => [x(t), y(v)])]),
                              class: `ahead ${forecast.method}` }));
    root.append(svg("line", { x1: x(ahead[0][0]), x2: x(ahead[0][0]), y1: PAD.top,
                              y2: y(low), class: "origin" }));
    const first = svg("text", { x: x(ahead[0][0]), y: HEIGHT - 4, class: "tick",
                                "text-anchor": "middle" });
    first.textContent = formatClock(forecast.points[0].at);
    root.append(first);
  }
  if (past.length) {
    root.append(svg("path", { d: line(past.map(([t, v]) => [x(t), y(v)])), class: "past" }));
    const start = svg("text", { x: PAD.left, y: HEIGHT - 4, class: "tick" });
    start.textContent = `${formatClock(new Date(past[0][0]).toISOString())} yesterday`;
    root.append(start);
  }
  return root;
}
