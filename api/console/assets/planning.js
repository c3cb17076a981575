// Planning (docs/planning.md): the form behind the board's "hold" / "book" / "request visit"
// buttons, and the list of open requests with their state and time left to answer. A ZCV sees
// its own requests and may cancel them; a provider sees the requests for its locations and
// units and accepts or declines them. Refusals show the OperationOutcome's diagnostics.

import { element } from "./dom.js";
import { formatClock, serverNow } from "./figures.js";
import { SignedOut } from "./session.js";

// Closed requests stay listed a while, so a ZCV sees a decline or an expiry.
const CLOSED_SHOWN_MS = 30 * 60_000;
const OPEN_TASK = new Set(["requested", "accepted"]);
const OPEN_APPOINTMENT = new Set(["pending", "booked"]);
const STATE_WORDS = {
  requested: "waiting for an answer", accepted: "accepted", rejected: "declined",
  completed: "completed", cancelled: "cancelled", failed: "expired unanswered",
  pending: "waiting for an answer", booked: "booked",
};

/** "12:04" left, or "expired". */
export function formatRemaining(seconds) {
  if (seconds <= 0) return "expired";
  const whole = Math.ceil(seconds);
  const minutes = Math.floor(whole / 60);
  const rest = String(whole % 60).padStart(2, "0");
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")
  } min` : `${minutes}:${rest}`;
}

/** The form behind the board's planning buttons (one at a time). */
export class PlanningForm {
  /**
   * @param root the form's section (#planning)
   * @param session the signed-in Session
   * @param config the page config (planning, items)
   * @param hooks {announce(text), done(kind, answer), picked() → {lat, lon} | null}
   */
  constructor(root, session, config, hooks) {
    this.root = root;
    this.session = session;
    this.config = config;
    this.hooks = hooks;
  }

  close() {
    this.root.hidden = true;
    this.root.replaceChildren();
  }

  open(title, fields, submitText, send) {
    const error = element("p", { class: "error", role: "alert", hidden: "" });
    const submit = element("button", { type: "submit", text: submitText });
    const cancel = element("button", { type: "button", class: "secondary", text: "Close" });
    cancel.addEventListener("click", () => this.close());
    const form = element("form", { class: "planning-form", autocomplete: "off" },
      ...fields, element("p", { class: "form-buttons" }, submit, cancel), error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      submit.disabled = true;
      try {
        await send(new FormData(form));
        this.close();
      } catch (failure) {
        if (failure instanceof SignedOut) return;
        error.textContent = `Refused: ${failure.message}`;
        error.hidden = false;
      } finally {
        submit.disabled = false;
      }
    });
    this.root.replaceChildren(element("h2", { id: "planning-title", text: title }), form);
    this.root.hidden = false;
    this.root.scrollIntoView({ block: "nearest" });
    form.querySelector("input, select")?.focus();
    return form;
  }

  patientField() {
    return element("label", {}, "Patient reference (pseudonymous, optional)",
      element("input", { name: "patient_ref", maxlength: "64", pattern: "[A-Za-z0-9._:\\-]+",
        spellcheck: "false", title: "letters, digits and . _ : - only; no name or BSN" }));
  }

  reasonField(required, name = "reason") {
    const input = element("input", { name, maxlength: "500" });
    if (required) input.required = true;
    return element("label", {}, required ? "Reason" : "Reason (optional)", input);
  }

  hold(location, hold) {
    const ttl = element("label", {}, "Hold for (minutes)", element("input", {
      name: "ttl_minutes", type: "number", min: "1", max: String(hold.ttl_minutes),
      value: String(hold.ttl_minutes) }));
    this.open(`Hold a place: ${hold.label} at ${location.name}`, [
      element("p", { class: "muted small", text: `Unanswered, the hold lapses after its time; `
        + `at most ${hold.ttl_minutes} min. The provider's own figure does not change.` }),
      this.reasonField(true), ttl, this.patientField(),
    ], "Place hold", async (data) => {
      const minutes = Number(data.get("ttl_minutes"));
      const answer = await this.session.json("/v1/holds", { method: "POST", body: {
        location_id: location.location_id, category: hold.category,
        reason: data.get("reason"), patient_ref: data.get("patient_ref") || null,
        ttl_seconds: minutes > 0 ? Math.round(minutes * 60) : null } });
      this.hooks.announce(`Hold placed at ${location.name}: waiting for an answer.`);
      this.hooks.done("hold", answer);
    });
  }

  async book(location) {
    const slots = element("select", { name: "slot", required: "" },
      element("option", { value: "", text: "Loading free slots…" }));
    const form = this.open(`Book a consult at ${location.name}`, [
      element("label", {}, "Free slot", slots),
      this.reasonField(false, "description"), this.patientField(),
    ], "Book", async (data) => {
      const answer = await this.session.json("/fhir/Appointment", { method: "POST", body: {
        resourceType: "Appointment", slot: [{ reference: `Slot/${data.get("slot")}` }],
        participant: [{ actor: { reference: `Location/${location.location_id}` } },
          ...(data.get("patient_ref")
            ? [{ actor: { reference: `Patient/${data.get("patient_ref")}` } }] : [])],
        description: data.get("description") || null } });
      this.hooks.announce(`Consult booked at ${location.name}: waiting for the practice.`);
      this.hooks.done("appointment", answer);
    });
    try {
      const bundle = await this.session.json("/fhir/Slot", {
        params: { location: location.location_id } });
      const free = bundle.entry.map((e) => e.resource);
      slots.replaceChildren(...(free.length ? free.map((s) => element("option", { value: s.id,
        text: `${formatClock(s.start)}–${formatClock(s.end)} (${s.id})` }))
        : [element("option", { value: "", text: "No free slot in the practice's agenda" })]));
    } catch (failure) {
      if (failure instanceof SignedOut) return;
      slots.replaceChildren(element("option", { value: "", text: "Slots cannot be read" }));
      const error = form.querySelector(".error");
      error.textContent = `Slots cannot be read: ${failure.message}`;
      error.hidden = false;
    }
  }

  visit(location, unit) {
    const picked = this.hooks.picked();
    const where = picked || { lat: unit.latitude, lon: unit.longitude };
    const urgency = element("select", { name: "urgency", required: "" },
      ...this.config.planning.urgencies.map((u) => element("option", { value: u.code,
        text: `${u.code} ${u.name}` })));
    urgency.value = this.config.planning.urgencies.find((u) => u.code === "U3")?.code
      || urgency.value;
    this.open(`Request a visit of ${unit.label}${location ? ` (${location.name})` : ""}`, [
      element("p", { class: "muted small", text: picked
        ? `Patient at the point picked on the map (${where.lat.toFixed(4)}, ${
          where.lon.toFixed(4)}).`
        : "Patient at the unit's position: click the map first to pick where the patient is." }),
      element("label", {}, "Urgency", urgency),
      this.reasonField(false), this.patientField(),
    ], "Request visit", async (data) => {
      const answer = await this.session.json("/v1/visits", { method: "POST", body: {
        unit_id: unit.id, latitude: where.lat, longitude: where.lon,
        urgency: data.get("urgency"), reason: data.get("reason") || null,
        patient_ref: data.get("patient_ref") || null } });
      this.hooks.announce(`Visit requested of ${unit.label}: waiting for an answer.`);
      this.hooks.done("visit", answer);
    });
  }
}

/** The open requests: holds, visits and bookings, of the ZCV or for the provider. */
export class RequestList {
  /**
   * @param list the <ol>; @param status its status line
   * @param session the signed-in Session; provider: it answers, else it asks
   * @param config the page config; @param names {location(id), unit(id)} → display name
   */
  constructor(list, status, session, config, { names, announce, changed }) {
    this.list = list;
    this.status = status;
    this.session = session;
    this.config = config;
    this.names = names;
    this.announce = announce;
    this.changed = changed;
    this.provider = session.claims.role === "provider";
    this.requests = [];
    this.holdLabels = new Map((config.planning?.holds || []).map((h) => [h.category, h.label]));
    this.pending = null;
  }

  /** Reload soon (a burst of planning events gives one reload). */
  soon() {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.reload().catch(() => {}), 250);
  }

  async reload() {
    try {
      const [holds, visits, appointments] = await Promise.all([
        this.session.json("/v1/holds"), this.session.json("/v1/visits"),
        this.session.json("/fhir/Appointment")]);
      const now = serverNow();
      const recent = (r) => !r.closed_at || now - Date.parse(r.closed_at) < CLOSED_SHOWN_MS;
      this.requests = [
        ...[...holds.requests, ...visits.requests].filter((r) => OPEN_TASK.has(r.status)
          || recent(r)).map((r) => ({ ...r, resource: "task" })),
        ...appointments.entry.map((e) => e.resource).filter((a) => OPEN_APPOINTMENT.has(
          a.status) || now - Date.parse(a.created) < CLOSED_SHOWN_MS)
          .map((a) => ({ ...a, resource: "appointment", kind: "appointment" })),
      ].sort((a, b) => Date.parse(b.created_at || b.created) - Date.parse(
        a.created_at || a.created));
      this.status.textContent = this.requests.length ? "" : (this.provider
        ? "No requests for your locations." : "No requests of yours.");
      this.render();
    } catch (error) {
      if (error instanceof SignedOut) throw error;
      this.status.textContent = `Requests cannot be read: ${error.message}`;
    }
  }

  render() {
    this.list.replaceChildren(...this.requests.map((r) => this.item(r)));
    this.tick();
  }

  /** The countdowns, every second (nothing else is redrawn). */
  tick() {
    const now = serverNow();
    for (const span of this.list.querySelectorAll(".remaining[data-expires]")) {
      const left = (Date.parse(span.dataset.expires) - now) / 1000;
      span.textContent = left > 0 ? `${formatRemaining(left)} left to answer` : "expired";
      span.classList.toggle("urgent", left < 120);
    }
  }

  what(r) {
    if (r.kind === "hold") {
      return `Hold: ${this.holdLabels.get(r.category) || r.category} at ${
        this.names.location(r.location_id)}`;
    }
    if (r.kind === "visit") {
      return `Visit: ${this.names.unit(r.unit_id)} · ${r.urgency}`;
    }
    const where = r.participant.find((p) => p.actor.reference.startsWith("Location/"));
    const id = where ? where.actor.reference.slice("Location/".length) : "?";
    return `Consult: ${this.names.location(id)} · ${formatClock(r.start)}–${formatClock(r.end)}`;
  }

  item(r) {
    const open = r.resource === "task" ? OPEN_TASK.has(r.status) : OPEN_APPOINTMENT.has(r.status);
    const words = r.status === "failed" && r.status_reason === "expired"
      ? "expired unanswered" : STATE_WORDS[r.status] || r.status;
    const state = element("span", { class: "badge", text: words });
    const head = element("p", {}, state);
    if (r.resource === "task" && r.status === "requested") {
      head.append(" · ", element("span", { class: "remaining", "data-expires": r.expires_at }));
    }
    const li = element("li", {
      class: `request state-${r.status}${open ? "" : " closed"}`,
      "data-request": r.id, "data-kind": r.kind, "data-state": r.status,
    }, head, element("p", { class: "what", text: this.what(r) }));
    const reason = r.resource === "task" ? r.reason : r.description;
    const meta = [`asked ${formatClock(r.created_at || r.created)}`];
    if (this.provider && r.requester_organization) meta.push(`by ${r.requester_organization}`);
    if (reason) meta.push(reason);
    if (r.resource === "task" && r.status_reason) meta.push(`(${r.status_reason})`);
    if (r.cancelationReason) meta.push(`(${r.cancelationReason.text})`);
    li.append(element("p", { class: "meta", text: meta.join(" · ") }));
    const buttons = this.buttons(r);
    if (buttons.length) li.append(element("p", { class: "request-buttons" }, ...buttons));
    return li;
  }

  buttons(r) {
    const label = this.what(r);
    const waiting = r.status === "requested" || r.status === "pending";
    const made = [];
    const add = (text, act) => {
      const button = element("button", { type: "button", text, "aria-label": `${text}: ${label}` });
      button.addEventListener("click", () => this.act(button, text, act));
      made.push(button);
    };
    if (this.provider) {
      if (waiting) {
        add("Accept", () => this.answer(r, true));
        add("Decline", () => this.answer(r, false));
      } else if (r.resource === "task" && r.status === "accepted") {
        add("Complete", () => this.session.json(`/v1/${r.kind}s/${r.id}/complete`,
          { method: "POST" }));
      }
    } else if (waiting || r.status === "accepted" || r.status === "booked") {
      add("Cancel", () => (r.resource === "task"
        ? this.session.json(`/v1/${r.kind}s/${r.id}/cancel`, { method: "POST" })
        : this.session.json(`/fhir/Appointment/${r.id}/$cancel`, { method: "POST" })));
    }
    return made;
  }

  answer(r, accept) {
    if (r.resource === "task") {
      return this.session.json(`/v1/${r.kind}s/${r.id}/${accept ? "accept" : "decline"}`,
        { method: "POST" });
    }
    return this.session.json("/fhir/AppointmentResponse", { method: "POST", body: {
      resourceType: "AppointmentResponse", appointment: { reference: `Appointment/${r.id}` },
      participantStatus: accept ? "accepted" : "declined" } });
  }

  async act(button, text, act) {
    button.disabled = true;
    try {
      await act();
      this.announce(`${text}: done.`);
      this.changed();
      await this.reload();
    } catch (error) {
      if (error instanceof SignedOut) return;
      this.status.textContent = `${text} refused: ${error.message}`;
      button.disabled = false;
    }
  }
}
