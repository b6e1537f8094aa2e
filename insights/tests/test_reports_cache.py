"""Report bodies are rendered once per rollup version (insights/reports/cache.py): the
same page again costs less, a refresh of the rollups shows the new figures at once,
and no viewer ever gets another's body or a per-user value from the cache."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chats.services.conversations import start_conversation_with_message
from insights.models import RollupVersion
from insights.services import rollups
from insights.tests.helpers import customer_with_card
from payments.services import orders, paying
from payments.tests.factories import PIN

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def sell(owner, business, amount):
    customer, card = customer_with_card()
    conversation, _m = start_conversation_with_message(
        customer=customer, business=business, body="Hi"
    )
    order = orders.create_payment_request(
        actor=owner, conversation=conversation,
        lines=[{"name": "Item", "unit_price": amount, "quantity": 1}],
    )  # fmt: skip
    paying.pay_order(
        payer=customer, order=order, card=card, confirmation="pin", pin=PIN,
        idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **EN)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_the_body_is_reused_until_the_rollups_change(client, owner, business):
    sell(owner, business, 12_300)
    rollups.rebuild(business=business)
    client.force_login(owner)
    url = reverse("insights_overview", args=[business.slug]) + "?range=7"

    first, page = queries(client, url)
    again, same = queries(client, url)
    assert "R$123.00" in page and again < first
    assert same.count("R$123.00") == page.count("R$123.00")

    version = RollupVersion.objects.get(business=business).version
    sell(owner, business, 1_000)
    rollups.refresh()  # the first refresh ever is a rebuild: a new version
    assert RollupVersion.objects.get(business=business).version != version
    _n, fresh = queries(client, url)
    assert "R$133.00" in fresh  # the new sale, without waiting for the cache to expire


def test_viewers_never_share_a_body_and_it_holds_no_per_user_value(client, owner, agent, business):
    sell(owner, business, 5_000)
    rollups.rebuild(business=business)
    url = reverse("insights_support", args=[business.slug])
    client.force_login(owner)
    _n, as_owner = queries(client, url)
    client.force_login(agent)
    _n, as_agent = queries(client, url)
    # the owner's per-agent table names the owner; the agent sees only their own row
    assert owner.display_name in as_owner.split('class="dash-title"')[1]
    assert owner.display_name not in as_agent.split('class="dash-title"')[1]
    for name in ("insights_overview", "insights_sales", "insights_products"):
        client.force_login(owner)
        response = client.get(reverse(name, args=[business.slug]), **EN)
        page = response.content.decode()
        # the body: after the period form, before the footer
        body = page.split('class="report-period"')[1].split("</form>", 1)[1].split("<footer")[0]
        assert "report" in body  # the report's body is there
        assert "csrfmiddlewaretoken" not in body and "<form" not in body
        assert owner.email not in body
