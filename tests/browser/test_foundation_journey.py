"""The foundation's journey, driven through the real UI as a person would: by role
and by label, in Chromium, against the live server."""

import re
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from PIL import Image
from playwright.sync_api import expect

from accounts import services
from accounts.models import User
from config.celery import app as celery_app

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _account_mail_sent_in_process():
    """Account mails are sent by a worker after the commit (core.mail); here
    the task runs in the live server's thread, so the codes land in ``mail.outbox``."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


PASSWORD = "a-long-Passphrase-42"


def _last_mail_to(address: str):
    sent = [m for m in mail.outbox if address in m.to]
    assert sent, f"no e-mail to {address}; outbox: {[m.subject for m in mail.outbox]}"
    return sent[-1]


def _verification_code(address: str) -> str:
    body = _last_mail_to(address).body
    # allauth's code stands alone on its line, e.g. "JQXD-BLKC".
    match = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", body, re.MULTILINE)
    assert match, f"no code in the e-mail:\n{body}"
    return match.group(1)


def _sign_up(page, email: str) -> None:
    """Sign up from the current page's "Sign up" link and verify the e-mail by code."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign Up").click()

    expect(page.get_by_role("heading", name="Enter Email Verification Code")).to_be_visible()
    page.get_by_label("Code").fill(_verification_code(email))
    page.get_by_role("button", name="Confirm").click()


def _logo_png(path: Path) -> Path:
    image = Image.new("RGB", (256, 256), "#0f766e")
    for x in range(64, 192):
        for y in range(64, 192):
            image.putpixel((x, y), (255, 255, 255))
    image.save(path, "PNG")
    return path


def test_a_merchant_opens_a_shop_and_sees_its_public_page(page, tmp_path, screenshots):
    # Sign up and verify the e-mail with the code from the outbox.
    page.goto("/")
    page.get_by_role("banner").get_by_role("button", name="Sign up").click()
    _sign_up(page, "ana@example.com")

    # Signed in: the dashboard offers to create a business.
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Your businesses")).to_be_visible()
    page.get_by_role("button", name="Create a business").click()
    page.get_by_label("Name").fill("Padaria Estrela")
    page.get_by_label("Category").select_option(label="Food & grocery")
    page.get_by_label("City").fill("Recife")
    page.get_by_role("button", name="Create business").click()

    # The settings page: a logo, then the opening hours.
    expect(page.get_by_text("“Padaria Estrela” is ready.")).to_be_visible()
    page.get_by_label("Logo", exact=True).set_input_files(_logo_png(tmp_path / "logo.png"))
    page.get_by_role("button", name="Upload logo").click()
    expect(page.get_by_text("Logo updated.")).to_be_visible()

    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        page.get_by_label(day, exact=True).check()
        page.get_by_label(f"{day} opens at").fill("07:00")
        page.get_by_label(f"{day} closes at").fill("19:30")
    page.get_by_label("Saturday", exact=True).check()
    page.get_by_label("Saturday opens at").fill("08:00")
    page.get_by_label("Saturday closes at").fill("13:00")
    page.get_by_role("button", name="Save hours").click()
    expect(page.get_by_text("Opening hours saved.")).to_be_visible()

    # The public page shows it all.
    page.get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="View public page").click()
    expect(page).to_have_url(re.compile(r"/s/padaria-estrela/$"))
    expect(page.get_by_role("heading", name="Padaria Estrela", level=1)).to_be_visible()
    logo = page.get_by_role("img", name=re.compile("Padaria Estrela"))
    expect(logo).to_be_visible()
    assert logo.evaluate("img => img.complete && img.naturalWidth > 0"), "the logo did not load"
    hours = page.get_by_role("table")
    expect(hours).to_be_visible()
    expect(hours.get_by_role("row", name=re.compile("Monday"))).to_contain_text("7:00 AM–7:30 PM")
    expect(hours.get_by_role("row", name=re.compile("Saturday"))).to_contain_text("8:00 AM–1:00 PM")
    expect(hours.get_by_role("row", name=re.compile("Sunday"))).to_contain_text("Closed")
    expect(page.get_by_role("button", name="Chat with us")).to_be_visible()

    page.screenshot(path=screenshots / "foundation-public-page.png", full_page=True)


def test_an_invited_teammate_signs_up_and_joins_the_business(page, open_context):
    # Given an owner with a verified e-mail and a business.
    owner = User.objects.create_user(email="owner@example.com", password=PASSWORD, language="en")
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    services.create_business(user=owner, name="Padaria Estrela", slug="", city="Recife")

    # The owner signs in and invites a teammate from the Team page.
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign In").click()
    page.get_by_role("link", name="Team", exact=True).click()
    page.get_by_label("E-mail address").fill("bia@example.com")
    page.get_by_label("Role", exact=True).select_option(label="Agent")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to bia@example.com.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("bia@example.com"))).to_be_visible()

    # The teammate, in a browser of her own, follows the link in the e-mail.
    invitation = _last_mail_to("bia@example.com").body
    link = re.search(r"http://\S+/invitations/\S+/", invitation)
    assert link, f"no invitation link in:\n{invitation}"
    teammate = open_context().new_page()
    teammate.goto(link.group(0))
    expect(teammate.get_by_role("heading", name="Join Padaria Estrela")).to_be_visible()
    teammate.get_by_role("button", name="Create an account").click()
    _sign_up(teammate, "bia@example.com")

    # Back on the invitation, signed in: she accepts and lands in the dashboard.
    expect(teammate.get_by_role("heading", name="Join Padaria Estrela")).to_be_visible()
    teammate.get_by_role("button", name="Accept invitation").click()
    expect(teammate.get_by_text("Welcome to Padaria Estrela!")).to_be_visible()
    expect(teammate.get_by_role("heading", name="Padaria Estrela", level=1)).to_be_visible()
    expect(teammate.get_by_text("You are Agent here.")).to_be_visible()
