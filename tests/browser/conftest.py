"""A real Chromium (Debian's) driven by Playwright against the live test server."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Reported by the page itself: the policy blocked something (an inline script or style, a
# resource from elsewhere). A binding survives navigations, unlike a variable on the page.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.t2CspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`
                        + ` at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def chromium_executable() -> str | None:
    return os.environ.get("T2_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    if not executable:
        pytest.fail("Chromium not found: scripts/test installs it (apt-get install chromium)")
    # Playwright's sync API runs an event loop; Django must allow ORM calls in this thread.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def open_page(browser, base_url: str, **context_options):
    """A page of a new browser context that may reach only `base_url`, and records what went
    wrong on it: `outside_requests` (blocked, never sent), `console_errors`, `page_errors`
    (uncaught exceptions) and `csp_violations`."""
    context = browser.new_context(base_url=base_url, **context_options)
    outside: list[str] = []

    def guard(route):
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    violations: list[str] = []
    context.expose_function("t2CspViolation", lambda text: violations.append(text))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    console_errors: list[str] = []
    page_errors: list[str] = []

    def on_console(message):
        # A request the guard blocked fails loudly in the console; it is counted apart.
        if message.type == "error" and message.location.get("url") not in outside:
            console_errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.outside_requests = outside
    page.console_errors = console_errors
    page.page_errors = page_errors
    page.csp_violations = violations
    return page


@pytest.fixture
def page(browser, live_server):
    page = open_page(browser, live_server.url)
    yield page
    page.context.close()
