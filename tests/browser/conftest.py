"""Fixtures for the browser journeys (marker ``browser``).

Chromium is Debian's (``/usr/bin/chromium``): ``playwright install`` cannot download
browsers on these machines. Pages are opened on ``http://localhost:PORT``, a secure
context, so that WebAuthn (rp_id ``localhost``) works in later journeys.

Every browser context opened through ``open_context`` (the default ``page`` included)
is watched: a console error, an uncaught exception or a Content-Security-Policy
violation fails the test. The site's CSP allows no inline script or style, and this
is where a regression shows.

Every page those contexts load is also checked with axe-core (WCAG 2.1 A and AA),
at a desktop and a phone size: see ``AccessibilityAudit``.
"""

import hashlib
import os
import re
from pathlib import Path

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


# Each page, once loaded (its own scripts have run), hands its markup to the test; the
# audit replays it later in a page of its own. Only the top frame reports.
_SNAPSHOT_ON_LOAD = """
window.addEventListener("load", () => {
  if (window.top !== window || !document.documentElement) return;
  window.__a11ySnapshot(location.href, document.documentElement.outerHTML);
});
"""

AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe-core-4.14.1.min.js"
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_CSRF = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]*')


class AccessibilityAudit:
    """axe-core on every page a journey loads, at a desktop and a phone size.

    Running axe in the journey's own tab would race it: the test clicks on while axe
    reads, a navigation destroys the run and the page goes unchecked. Instead each
    page sends its markup when it has loaded (an init script, which the CSP does not
    block, and a binding), and the audit replays every distinct page after the
    journey, in a context of its own: the same URL, answered with the saved markup
    minus its scripts (their work is already in the markup; the replay must not open
    sockets or post read receipts), so styles, images and the layout are the live
    server's. Pages still open at the end are saved as they are then, so content a
    socket or HTMX added is checked too. Forms sent back with errors are pages like
    any other and are checked with their errors showing."""

    def __init__(self):
        self.pages: dict[str, tuple[str, str]] = {}  # digest → (url, html)

    def watch(self, context):
        context.expose_binding("__a11ySnapshot", lambda source, url, html: self.add(url, html))
        context.add_init_script(_SNAPSHOT_ON_LOAD)
        return context

    def add(self, url: str, html: str) -> None:
        if not url.startswith("http"):
            return
        html = "<!DOCTYPE html>" + _SCRIPT.sub("", html)
        digest = hashlib.sha256((url + _CSRF.sub(r"\1", html)).encode()).hexdigest()
        self.pages.setdefault(digest, (url, html))

    def add_open_pages(self, contexts) -> None:
        for context in contexts:
            for page in context.pages:
                if not page.is_closed():
                    self.add(page.url, page.evaluate("document.documentElement.outerHTML"))

    def check(self, new_context) -> list[str]:
        context = new_context(bypass_csp=True, viewport=DESKTOP)
        page = context.new_page()
        found: dict[tuple[str, str], list[str]] = {}  # (url, problem) → viewports
        for url, html in self.pages.values():
            page.set_viewport_size(DESKTOP)
            target = url.split("#")[0]

            def is_target(candidate, target=target):
                return candidate.split("#")[0] == target

            page.route(is_target, _replay(html))
            page.goto(target)
            page.unroute(is_target)
            for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
                page.set_viewport_size(size)
                for problem in run_axe(page):
                    viewports = found.setdefault((url, problem), [])
                    if name not in viewports:
                        viewports.append(name)
        context.close()
        return [f"{url} ({', '.join(v)}): {problem}" for (url, problem), v in found.items()]


def _replay(html):
    def fulfill(route):
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    return fulfill


def run_axe(page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is, one line per element:
    rule, target, what to fix."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate("(options) => axe.run(document, options)", AXE_OPTIONS)["violations"]
    return [
        f"{v['id']} at {' '.join(map(str, node['target']))}: {v['help']}"
        f" — {node.get('failureSummary', '').splitlines()[-1].strip()}"
        for v in violations
        for node in v["nodes"]
    ]


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.journey_failed = report.failed
    return report


@pytest.fixture
def accessibility_audit(request, new_context):
    """Watches a context: every page it loads is audited after the test."""
    audit = AccessibilityAudit()
    contexts = []

    def watch(context):
        contexts.append(context)
        return audit.watch(context)

    yield watch
    if getattr(request.node, "journey_failed", True):
        return  # the test's own failure says more than an audit of a half journey
    audit.add_open_pages(contexts)
    failures = audit.check(new_context)
    if failures:
        pytest.fail(
            f"axe-core (WCAG 2.1 A/AA) found {len(failures)} problem(s):\n" + "\n".join(failures),
            pytrace=False,
        )


@pytest.fixture
def open_context(new_context, browser_problems, server_url, accessibility_audit):
    """Open a watched browser context whose relative URLs go to the live server."""

    def _open(**kwargs):
        context = new_context(base_url=server_url, **kwargs)
        context.set_default_timeout(10_000)
        return accessibility_audit(browser_problems.watch(context))

    return _open


@pytest.fixture
def context(open_context):
    return open_context()


@pytest.fixture
def open_live(new_context, browser_problems, asgi_server, accessibility_audit):
    """A new watched page on the real ASGI server (``tests/asgi_server.py``): for the
    journeys that need websockets."""

    def _open(**kwargs):
        context = new_context(base_url=asgi_server, **kwargs)
        context.set_default_timeout(10_000)
        return accessibility_audit(browser_problems.watch(context)).new_page()

    return _open
