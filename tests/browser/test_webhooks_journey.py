"""Dashboard → Integrations in Chromium: the owner adds an endpoint pointing at a real
HTTP receiver on a loopback port, copies the secret shown once, sends a test event and
sees it delivered in the endpoint's log. The delivery runs in this test's process (as
a worker would: ``deliver_endpoint``), in a thread of its own off Playwright's loop."""

import json
import re
import threading

import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from accounts import services as account_services
from tests.browser.pages import assert_no_sideways_scroll, screenshot, sign_in, verified_user
from webhooks.models import Endpoint
from webhooks.services import delivery
from webhooks.tests.receiver import Receiver

pytestmark = pytest.mark.browser


def _deliver(endpoint_id: int) -> None:
    thread = threading.Thread(target=delivery.deliver_endpoint, kwargs={"endpoint_id": endpoint_id})
    thread.start()
    thread.join(30)


def test_add_an_endpoint_send_a_test_event_and_see_it_in_the_log(context, settings):
    settings.DEBUG = True  # plain HTTP to the loopback receiver, as on a developer's machine
    settings.WEBHOOKS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    merchant = verified_user("rosa@example.com", "Rosa")
    account_services.create_business(user=merchant, name="Cestas Rosa", slug="cestas-rosa")

    with Receiver() as receiver:
        page = context.new_page()
        sign_in(page, merchant.email)
        page.goto("/dashboard/cestas-rosa/")
        page.get_by_role("link", name="Integrations").click()
        page.get_by_role("button", name="Add endpoint").click()
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_label("Description").fill("My ERP")
        page.get_by_label("order.paid").check()
        page.get_by_role("button", name="Add endpoint").click()

        expect(page.get_by_role("heading", level=1, name=receiver.url)).to_be_visible()
        secret = page.get_by_role("textbox", name="Signing secret").input_value()
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]{40,}", secret)
        assert_no_sideways_scroll(page)
        screenshot(page, "webhooks-endpoint.png")

        page.get_by_role("button", name="Send a test event").click()
        expect(page.get_by_text("Test event sent")).to_be_visible()
        _deliver(Endpoint.objects.get().pk)
        page.reload()
        expect(page.get_by_role("textbox", name="Signing secret")).to_have_count(0)  # shown once
        log = page.get_by_role("table", name="Delivery log")
        expect(log.get_by_text("webhook.test")).to_be_visible()
        expect(log.get_by_text("Succeeded")).to_be_visible()
        expect(log.get_by_text(re.compile(r"— 204"))).to_be_visible()

    (request,) = receiver.requests
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "webhook.test"
    assert json.loads(request.body)["data"]["business"]["slug"] == "cestas-rosa"
