"""The wallet's security journey in Chromium: a customer signs in, sets a payment PIN,
registers a fingerprint with Chromium's virtual platform authenticator (user
verification on), sees it listed, and removes it."""

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from accounts.models import User
from payments.models import PaymentPin, WebAuthnCredential
from tests.browser.pages import PASSWORD, assert_no_sideways_scroll, screenshot, sign_in

pytestmark = pytest.mark.browser


def add_virtual_authenticator(page) -> str:
    """A fingerprint reader in this page's browser: CTAP2, built in, resident keys,
    user verification that always succeeds, presence given automatically."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    answer = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return answer["authenticatorId"]


def test_customer_sets_a_pin_and_registers_then_removes_a_fingerprint(open_context):
    customer = User.objects.create_user(
        email="carla@example.com", password=PASSWORD, display_name="Carla", language="en"
    )
    EmailAddress.objects.create(user=customer, email=customer.email, verified=True, primary=True)
    page = open_context().new_page()
    sign_in(page, customer.email)

    # A weak PIN is explained, a good one is set.
    page.goto("/wallet/pin/")
    page.get_by_label("New PIN", exact=True).fill("123456")
    page.get_by_label("New PIN again").fill("123456")
    page.get_by_role("button", name="Set PIN").click()
    expect(page.locator(".field-error", has_text="too easy to guess")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="too easy to guess")).to_be_focused()
    page.get_by_label("New PIN", exact=True).fill("739154")
    page.get_by_label("New PIN again").fill("739154")
    page.get_by_role("button", name="Set PIN").click()
    expect(page.get_by_text("Your payment PIN is set.").first).to_be_visible()
    assert PaymentPin.objects.filter(user=customer).exists()
    expect(page.get_by_role("button", name="Change PIN")).to_be_visible()

    # A fingerprint is added with the device's authenticator.
    add_virtual_authenticator(page)
    page.goto("/wallet/fingerprints/")
    expect(page.get_by_text("No fingerprints yet.")).to_be_visible()
    page.get_by_label("Name of this device").fill("Carla's phone")
    page.get_by_role("button", name="Add fingerprint").click()
    expect(page.get_by_text("Fingerprint “Carla's phone” added.")).to_be_visible()
    expect(page.get_by_role("list").get_by_text("Carla's phone")).to_be_visible()
    credential = WebAuthnCredential.objects.get(user=customer)
    assert credential.transports == ["internal"]
    page.set_viewport_size({"width": 375, "height": 740})
    assert_no_sideways_scroll(page)
    screenshot(page, "fingerprints.png")

    # And removed.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove Carla's phone").click()
    expect(page.get_by_text("Fingerprint “Carla's phone” removed.")).to_be_visible()
    expect(page.get_by_text("No fingerprints yet.")).to_be_visible()
    assert not WebAuthnCredential.objects.filter(user=customer).exists()
