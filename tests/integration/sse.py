"""A Server-Sent Events client for tests: reads /v1/stream in a thread, keeps every event."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from stack.credentials import TokenAuth
from tests.waiting import wait_for


def bearer(client: httpx.Client) -> dict[str, str]:
    """The Authorization header of a signed-in test client (none for an anonymous one).
    Streams are read without the client's auth flow: it reads the whole body of every answer
    (to renew a token on 401), which an event stream never finishes."""
    if not isinstance(client.auth, TokenAuth):
        return {}
    if client.auth.token is None:
        client.get("/healthz")  # any request fetches the token
    return {"Authorization": f"Bearer {client.auth.token}"}


@dataclass(frozen=True)
class Received:
    """One event as the client saw it."""

    id: str | None
    event: str
    data: Any


@dataclass
class Listener:
    """Connected to /v1/stream with a client's token until `close()`."""

    client: httpx.Client
    params: dict[str, str]
    last_event_id: str | None = None
    base_url: str | None = None
    events: list[Received] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    status: int | None = None
    error: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _opened: threading.Event = field(default_factory=threading.Event)

    def open(self) -> Listener:
        """Connect; returns once the server answered."""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self._opened.wait(30), "the stream did not answer"
        assert self.status == 200, (self.status, self.error)
        return self

    def close(self) -> None:
        """Disconnect."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def named(self, name: str) -> list[Received]:
        """The events of one kind, in order."""
        return [e for e in list(self.events) if e.event == name]

    def wait(self, name: str, match: Any = lambda data: True, timeout: float = 30.0,
             ) -> Received:
        """The first event of kind `name` whose data `match`es."""
        return wait_for(lambda: next((e for e in self.named(name) if match(e.data)), None),
                        timeout=timeout, what=f"a {name} event")

    def _read(self) -> None:
        headers = {"Accept": "text/event-stream", **bearer(self.client)}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        url = f"{self.base_url or self.client.base_url}/v1/stream"
        try:
            with httpx.stream("GET", url, params=self.params, headers=headers,
                              timeout=httpx.Timeout(5.0, read=30.0)) as answer:
                # The test stack sends a heartbeat every second: close() is noticed at the
                # next line at the latest.
                self.status = answer.status_code
                self._opened.set()
                self._lines(answer)
        except httpx.HTTPError as exc:
            # The server went away: what was received stays for the test to judge.
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._opened.set()

    def _lines(self, answer: httpx.Response) -> None:
        block: dict[str, str] = {}
        lines = answer.iter_lines()
        while not self._stop.is_set():
            try:
                line = next(lines)
            except (StopIteration, httpx.ReadTimeout):
                return
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
            elif line == "":
                if "data" in block:
                    self.events.append(Received(block.get("id"), block.get("event", "message"),
                                                json.loads(block["data"])))
                block = {}
            else:
                name, _, value = line.partition(":")
                block[name] = value[1:] if value.startswith(" ") else value
