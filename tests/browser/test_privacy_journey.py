"""A customer downloads their data, then deletes their account (Account → Privacy),
through the real UI in Chromium."""

import io
import json
import zipfile

import pytest
from playwright.sync_api import expect

from accounts.models import User
from accounts.tests.factories import create_business
from chats.tests.factories import say, start_chat
from config.celery import app as celery_app
from tests.browser.pages import PASSWORD, in_a_thread, screenshot, sign_in, verified_user

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _tasks_in_process(settings, tmp_path):
    """The export's build runs in the live server's thread, right after the commit."""
    settings.PRIVACY_EXPORT_DIR = str(tmp_path / "exports")
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_a_customer_downloads_their_data_then_deletes_their_account(page, server_url):
    owner = verified_user("owner@example.com", "Olga Owner")
    business = create_business(owner=owner, name="Padaria Central", slug="padaria-central")
    customer = verified_user("ines@example.com", "Inês Cardoso")
    in_a_thread(
        lambda: say(customer, start_chat(business, customer), "Bom dia! Tem pão de queijo?")
    )

    sign_in(page, "ines@example.com")
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("link", name="Privacy").click()
    expect(page.get_by_role("heading", name="Privacy at Conversa")).to_be_visible()
    page.get_by_role("link", name="Go to your privacy settings").click()
    expect(page.get_by_role("heading", name="Privacy and your data")).to_be_visible()

    # Download my data.
    page.get_by_role("button", name="Prepare my data").click()
    expect(page.get_by_role("status").filter(has_text="Your data is ready")).to_be_visible()
    screenshot(page, "privacy-ready.png")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the ZIP").click()
    data = download_info.value.path().read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        profile = json.loads(archive.read("profile.json"))
        names = archive.namelist()
    assert profile["email"] == "ines@example.com" and "README.txt" in names
    assert any(name.startswith("conversations/") and name.endswith(".html") for name in names)

    # Delete my account: a wrong password first, then the right one.
    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("Wrong password.").first).to_be_visible()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("heading", name="Your account was deleted")).to_be_visible()
    screenshot(page, "privacy-deleted.png")

    user = User.objects.get(pk=customer.pk)
    assert not user.is_active and "ines" not in user.email
    # The old sign-in no longer works.
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("ines@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()


@pytest.mark.parametrize(
    ("language", "link", "heading", "rights"),
    [
        ("français", "Confidentialité", "La confidentialité chez Conversa", "Vos droits"),
        ("español", "Privacidad", "La privacidad en Conversa", "Tus derechos"),
    ],
)
def test_the_privacy_page_reads_in_french_and_spanish(page, language, link, heading, rights):
    """A visitor chooses French or Spanish in the footer's switcher and opens the privacy
    page from the footer; screenshots privacy-page-fr.png and privacy-page-es.png."""
    page.goto("/privacy/")
    page.get_by_label("Language").select_option(label=language)
    page.get_by_role("button", name="Change language").click()
    page.locator("footer").get_by_role("link", name=link, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=rights)).to_be_visible()
    screenshot(page, f"privacy-page-{'fr' if language == 'français' else 'es'}.png")


@pytest.mark.browser_context_args(locale="fr-FR")
def test_a_french_browser_gets_the_privacy_page_in_french(page):
    """A visitor whose browser asks for French (Accept-Language, no cookie) reads the
    page in French. The suite's contexts are en-US (``browser_context_args``): a test
    sets another browser language with this marker — ``new_context(locale=…)`` is a
    duplicate argument, and an ``Accept-Language`` in ``extra_http_headers`` is
    overridden by the context's locale."""
    page.goto("/privacy/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(
        page.get_by_role("heading", level=1, name="La confidentialité chez Conversa")
    ).to_be_visible()
