// The signed-in session: the bearer token (in this tab's sessionStorage only, never in a URL)
// and JSON calls to the API with it.

const KEY = "zorgcapaciteit.console.token";

export class SignedOut extends Error {}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** What a token says about its holder (not verified here: the API verifies every call). */
export function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return {};
  }
}

export class Session {
  constructor(token) {
    this.token = token;
    this.claims = claimsOf(token);
    this.onSignedOut = () => {};
  }

  static restore() {
    const token = sessionStorage.getItem(KEY);
    return token ? new Session(token) : null;
  }

  remember() {
    sessionStorage.setItem(KEY, this.token);
  }

  forget() {
    sessionStorage.removeItem(KEY);
  }

  /** The regions this token coordinates; null for a national grant. */
  get regions() {
    return this.claims.national ? null : this.claims.regions || [];
  }

  get expiresAt() {
    return typeof this.claims.exp === "number" ? this.claims.exp * 1000 : null;
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.token}`, Accept: "application/json", ...extra };
  }

  /** GET or POST JSON; a 401 ends the session, any other refusal is an ApiError. */
  async json(path, { method = "GET", params = {}, body } = {}) {
    const query = new URLSearchParams(
      Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== ""));
    const search = query.toString();
    const url = search ? `${path}?${search}` : path;
    const init = { method, headers: this.headers(), cache: "no-store" };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(url, init);
    if (response.status === 401) {
      this.onSignedOut("The token was refused or has expired: sign in again.");
      throw new SignedOut();
    }
    const text = await response.text();
    const answer = text ? JSON.parse(text) : null;
    if (!response.ok) throw new ApiError(response.status, refusalText(answer, response));
    return answer;
  }
}

/** The diagnostics of an OperationOutcome, or the status line. */
function refusalText(answer, response) {
  const issues = answer && Array.isArray(answer.issue) ? answer.issue : [];
  const said = issues.map((i) => i.diagnostics).filter(Boolean).join("; ");
  return said || `${response.status} ${response.statusText}`;
}
