"""A real headless browser on the console: Debian's chromium driven by Playwright.

Requests that leave the test stack (the background map's tiles) are blocked, as on a machine
without internet; anything else that goes wrong in the page (a script error, a console error, a
failed request, an HTTP error answer) is collected, and the test fails on it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    Route,
    ViewportSize,
    expect,
)
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = os.environ.get("CONSOLE_TEST_CHROMIUM", "/usr/bin/chromium")
# `make screenshots` points this at docs/; other runs keep their screenshots out of git.
SCREENSHOT_DIR_VARIABLE = "CONSOLE_SCREENSHOT_DIR"
VIEWPORT: ViewportSize = {"width": 1440, "height": 960}


class PageProblems:
    """What went wrong in a page, except requests the test blocked on purpose."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []
        self.blocked: set[str] = set()
        # The page aborts a stream it replaces (new filters, a silent connection).
        self.may_abort = re.compile(r"/v1/stream(\?|$)")
        self.tolerated: list[re.Pattern[str]] = []

    def tolerate(self, url_pattern: str) -> None:
        """Failures of requests to matching URLs are what the test provokes: not problems."""
        self.tolerated.append(re.compile(url_pattern))

    def _expected(self, url: str) -> bool:
        return url in self.blocked or any(p.search(url) for p in self.tolerated)

    def attach(self, page: Page) -> None:
        """Watch `page` and block everything that is not the test stack."""
        page.route("**/*", self._route)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(self.origin) or url.startswith("data:"):
            route.continue_()
        else:
            self.blocked.add(url)
            route.abort("blockedbyclient")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not self._expected(message.location.get("url", "")):
            self.problems.append(f"console error: {message.text} ({message.location})")

    def _failed(self, request: Request) -> None:
        failure = request.failure or ""
        if self._expected(request.url):
            return
        if self.may_abort.search(request.url) and "ERR_ABORTED" in failure:
            return
        self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and not self._expected(response.url):
            self.problems.append(f"HTTP {response.status}: {response.request.method} "
                                 f"{response.url}")


@contextmanager
def console_page(browser: Browser, api_url: str) -> Iterator[tuple[Page, PageProblems]]:
    """A fresh browser context (its own sessionStorage) on no page yet; fails the test on any
    problem the page had."""
    context = browser.new_context(viewport=VIEWPORT, base_url=api_url, locale="nl-NL",
                                  timezone_id="Europe/Amsterdam")
    page = context.new_page()
    problems = PageProblems(api_url)
    problems.attach(page)
    try:
        yield page, problems
        assert problems.problems == [], "\n".join(problems.problems)
    finally:
        with suppress(PlaywrightError):
            context.close()


def sign_in(page: Page, token: str) -> None:
    """Open the console and sign in with `token` as a user would: paste it, press the button."""
    page.goto("/console")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#console")).to_be_visible()


def cell(location_id: str, definition: str) -> str:
    """The selector of one figure's cell on the board."""
    return f'tr[data-location="{location_id}"] td[data-definition="{definition}"]'


def screenshot_dir(fallback: Path) -> Path:
    """Where screenshots go: docs/ for `make screenshots`, else the test stack's folder."""
    chosen = Path(os.environ.get(SCREENSHOT_DIR_VARIABLE) or fallback)
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen

