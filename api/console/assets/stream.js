// /v1/stream (Server-Sent Events) read with fetch(), since EventSource cannot send the bearer
// token. Reconnects with Last-Event-ID so nothing is missed, and says when the connection is
// lost: no bytes for longer than three heartbeats (15 s each) counts as lost too.

const SILENCE_MS = 45_000;
const FIRST_RETRY_MS = 1_000;
const LONGEST_RETRY_MS = 30_000;

/** Parses an SSE byte stream into events; feed it text, it calls `dispatch` per event. */
export class EventParser {
  constructor(dispatch) {
    this.dispatch = dispatch;
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.event = "";
    this.data = [];
    this.id = null;
  }

  push(text) {
    this.buffer += text;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop();  // an unfinished line waits for more text
    for (const line of lines) this.line(line);
  }

  line(line) {
    if (line === "") {
      if (this.data.length) {
        this.dispatch({ event: this.event || "message", data: this.data.join("\n"), id: this.id });
      }
      this.reset();
      return;
    }
    if (line.startsWith(":")) return;  // a comment: the heartbeat
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.id = value;
  }
}

export class LiveStream {
  /**
   * @param session the signed-in Session
   * @param params the stream's filters (region, neighbours, ...)
   * @param handlers {onEvent(name, data), onState(state, detail)}
   */
  constructor(session, params, { onEvent, onState }) {
    this.session = session;
    this.params = params;
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastEventId = null;
    this.stopped = false;
    this.controller = null;
  }

  start() {
    this.run();
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  url() {
    const query = new URLSearchParams(
      Object.entries(this.params).filter(([, v]) => v !== null && v !== undefined && v !== ""));
    return `/v1/stream?${query}`;
  }

  async run() {
    let retry = FIRST_RETRY_MS;
    let attempt = 0;
    while (!this.stopped) {
      attempt += 1;
      try {
        await this.connect(() => {
          retry = FIRST_RETRY_MS;
          attempt = 0;
        });
        if (this.stopped) return;
        this.onState("lost", "the server closed the stream");
      } catch (error) {
        if (this.stopped) return;
        if (error && error.signedOut) return;
        this.onState("lost", error && error.message ? error.message : String(error), attempt);
      }
      await new Promise((resolve) => setTimeout(resolve, retry));
      retry = Math.min(retry * 2, LONGEST_RETRY_MS);
    }
  }

  async connect(onOpen) {
    this.controller = new AbortController();
    const headers = this.session.headers({ Accept: "text/event-stream" });
    if (this.lastEventId !== null) headers["Last-Event-ID"] = this.lastEventId;
    const response = await fetch(this.url(), {
      headers, cache: "no-store", signal: this.controller.signal,
    });
    if (response.status === 401) {
      this.session.onSignedOut("The token was refused or has expired: sign in again.");
      throw Object.assign(new Error("signed out"), { signedOut: true });
    }
    if (!response.ok || !response.body) {
      throw new Error(`the stream answered ${response.status} ${response.statusText}`);
    }
    onOpen();
    this.onState("open");
    await this.read(response.body);
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new EventParser((event) => this.deliver(event));
    let watchdog = null;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => this.controller.abort(new Error("no heartbeat")), SILENCE_MS);
    };
    arm();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        arm();
        parser.push(value);
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  deliver(event) {
    if (event.id !== null) this.lastEventId = event.id;
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;  // not ours to show; the next event carries on
    }
    this.onEvent(event.event, data);
  }
}
