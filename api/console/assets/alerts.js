// The alert list: open alerts from /v1/alerts, updated by `alert` events, acknowledged with
// POST /v1/alerts/{id}/acknowledge. Severity and state are written out, not only coloured.

import { ageSeconds, formatAge, formatMoment } from "./figures.js";

export class AlertList {
  constructor(list, status, session, { announce, locationName }) {
    this.list = list;
    this.status = status;
    this.session = session;
    this.announce = announce;
    this.locationName = locationName;
    this.alerts = new Map();
  }

  replace(alerts) {
    this.alerts = new Map(alerts.map((a) => [a.id, a]));
    this.render();
  }

  /** An `alert` event: a new, changed or cleared alert. */
  update(alert) {
    const known = this.alerts.get(alert.id);
    if (alert.state === "cleared" && alert.acknowledged_at) this.alerts.delete(alert.id);
    else this.alerts.set(alert.id, alert);
    if (!known && alert.state === "firing") {
      this.announce(`Alert (${alert.severity}): ${alert.message}`);
    }
    this.render();
  }

  async acknowledge(alert, button) {
    button.disabled = true;
    try {
      const answer = await this.session.json(
        `/v1/alerts/${encodeURIComponent(alert.id)}/acknowledge`, { method: "POST" });
      this.update(answer);
      this.announce(`Acknowledged: ${alert.rule_name}`);
    } catch (error) {
      button.disabled = false;
      this.status.textContent = `Could not acknowledge: ${error.message}`;
    }
  }

  render() {
    const alerts = [...this.alerts.values()].sort(
      (a, b) => Date.parse(b.raised_at) - Date.parse(a.raised_at));
    const firing = alerts.filter((a) => a.state === "firing").length;
    this.status.textContent = alerts.length
      ? `${firing} firing, ${alerts.length - firing} cleared` : "No open alerts.";
    this.list.replaceChildren(...alerts.map((a) => this.item(a)));
  }

  item(alert) {
    const li = document.createElement("li");
    li.className = `alert severity-${alert.severity} state-${alert.state}${
      alert.acknowledged_at ? " acknowledged" : ""}`;
    li.dataset.alert = alert.id;
    const head = document.createElement("p");
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = `${alert.severity} · ${alert.state}`;
    const name = document.createElement("strong");
    name.textContent = ` ${alert.rule_name}`;
    head.append(badge, name);
    const message = document.createElement("p");
    message.className = "message";
    message.textContent = alert.message;
    const meta = document.createElement("p");
    meta.className = "meta";
    const where = alert.location_id ? this.locationName(alert.location_id)
      : alert.roaz_region ? `region ${alert.roaz_region}` : "";
    meta.textContent = `${where ? `${where} · ` : ""}raised ${
      formatAge(ageSeconds({ observed_at: alert.raised_at }))} ago`;
    meta.title = formatMoment(alert.raised_at);
    li.append(head, message, meta);
    if (alert.acknowledged_at) {
      const done = document.createElement("p");
      done.className = "meta ack";
      done.textContent = `Acknowledged by ${alert.acknowledged_by || "someone"} at ${
        formatMoment(alert.acknowledged_at)}`;
      li.append(done);
    } else {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "acknowledge";
      button.textContent = "Acknowledge";
      button.setAttribute("aria-label", `Acknowledge alert: ${alert.rule_name}`);
      button.addEventListener("click", () => this.acknowledge(alert, button));
      li.append(button);
    }
    return li;
  }
}
