"""Helpers the browser journeys share: a verified user, signing in, screenshots, the
phone layout check."""

import contextlib
import threading
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

SCREENSHOTS = Path("test-results")
PASSWORD = "a-long-Passphrase-42"

_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  return [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .slice(0, 5)
    .map((el) => `${el.tagName}.${el.className} right=${el.getBoundingClientRect().right}`);
}"""


def verified_user(email: str, name: str):
    """A user with a verified e-mail and the journeys' password, in English."""
    from allauth.account.models import EmailAddress

    from accounts.models import User

    user = User.objects.create_user(
        email=email, password=PASSWORD, display_name=name, language="en"
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("main").get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name="Sign in")).to_have_count(0)


def assert_no_sideways_scroll(page) -> None:
    """No element reaches past the viewport's right edge, once the layout has settled
    (a resized viewport reaches Chart.js's canvases a frame or more later, through
    their ResizeObserver; seconds later on a busy machine): waits up to 10 s for that,
    then reports what overflows."""
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(f"() => ({_OVERFLOW})().length === 0", timeout=10_000)
    wide = page.evaluate(_OVERFLOW)
    assert not wide, f"the page scrolls sideways at {page.viewport_size}: {wide}"


def screenshot(page, name: str) -> None:
    # From the top: the sticky header would otherwise be drawn where the page was
    # scrolled to.
    page.evaluate("window.scrollTo(0, 0)")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / name, full_page=True)


def in_a_thread(fn) -> None:
    """Run ``fn`` off Playwright's event loop, in a thread of its own, and re-raise what
    it raised: database work that sends socket events after commit uses
    ``async_to_sync``, which Playwright's running loop forbids in the test's thread."""
    failure: list[BaseException] = []

    def run():
        try:
            fn()
        except BaseException as exc:  # re-raised below, in the test's thread
            failure.append(exc)
        finally:
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if failure:
        raise failure[0]
