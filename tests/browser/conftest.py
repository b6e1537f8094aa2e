"""Fixtures for the browser journeys (marker ``browser``).

Chromium is Debian's (``/usr/bin/chromium``): ``playwright install`` cannot download
browsers on these machines. Pages are opened on ``http://localhost:PORT``, a secure
context, so that WebAuthn (rp_id ``localhost``) works in later journeys.

Every browser context opened through ``open_context`` (the default ``page`` included)
is watched: a console error, an uncaught exception or a Content-Security-Policy
violation fails the test. The site's CSP allows no inline script or style, and this
is where a regression shows.
"""

import os

import pytest

# The live server and the test share one process; Playwright's sync API runs an event
# loop in this thread, so Django's async-safety check would refuse the ORM calls the
# test makes between page actions. Tests only.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Reports CSP violations to the test through an exposed binding. Init scripts are
# injected by the browser itself, so the page's CSP does not block this one.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__reportCspViolation(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
  );
});
"""


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # English UI for the browser (Accept-Language); a phone-sized check sets its own
    # viewport.
    return {**browser_context_args, "locale": "en-US"}


@pytest.fixture
def server_url(live_server, transactional_db, settings):
    """The live server as ``http://localhost:PORT``; links in e-mails point at it."""
    url = live_server.url.replace("127.0.0.1", "localhost")
    settings.SITE_URL = url
    return url


@pytest.fixture
def screenshots(pytestconfig):
    """pytest-playwright's output folder (``--output``, default ``test-results/``, which
    git ignores), under the project root whatever the working directory."""
    folder = pytestconfig.rootpath / pytestconfig.getoption("--output")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class BrowserProblems:
    def __init__(self):
        self.problems: list[str] = []

    def watch(self, context):
        context.expose_binding(
            "__reportCspViolation",
            lambda source, text: self.problems.append(f"CSP violation: {text}"),
        )
        context.add_init_script(_CSP_LISTENER)
        context.on("page", self._watch_page)
        for page in context.pages:
            self._watch_page(page)
        return context

    def _watch_page(self, page):
        page.on("console", lambda message: self._on_console(page, message))
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _on_console(self, page, message):
        if message.type != "error":
            return
        # A form sent back with its errors answers 400 on purpose; Chromium logs that
        # as the page's own "resource" failing. Any other failed load still counts.
        own_page = message.location.get("url", "").split("#")[0] == page.url.split("#")[0]
        if (
            own_page
            and message.text.startswith("Failed to load resource")
            and "(Bad Request)" in message.text
        ):
            return
        self.problems.append(f"console error at {message.location}: {message.text}")


@pytest.fixture
def browser_problems():
    problems = BrowserProblems()
    yield problems
    if problems.problems:
        pytest.fail("The browser reported:\n" + "\n".join(problems.problems), pytrace=False)


@pytest.fixture
def open_context(new_context, browser_problems, server_url):
    """Open a watched browser context whose relative URLs go to the live server."""

    def _open(**kwargs):
        context = new_context(base_url=server_url, **kwargs)
        context.set_default_timeout(10_000)
        return browser_problems.watch(context)

    return _open


@pytest.fixture
def context(open_context):
    return open_context()


@pytest.fixture
def open_live(new_context, browser_problems, asgi_server):
    """A new watched page on the real ASGI server (``tests/asgi_server.py``): for the
    journeys that need websockets."""

    def _open(**kwargs):
        context = new_context(base_url=asgi_server, **kwargs)
        context.set_default_timeout(10_000)
        return browser_problems.watch(context).new_page()

    return _open
