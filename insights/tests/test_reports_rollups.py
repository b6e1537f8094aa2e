"""The reports on rollups built through the services (chats started, payment requests,
payments, a refund) and ``rollups.rebuild``: the Overview, Chats that sell and the
drill-down agree with what happened, on the business's local days."""

import datetime
import uuid
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.http import QueryDict
from django.urls import reverse

from chats.services.conversations import start_conversation_with_message
from insights.reports.overview import build_overview
from insights.reports.period import parse_period
from insights.reports.sales import build_sales
from insights.services import rollups
from insights.tests.helpers import customer_with_card
from payments.services import orders as order_services
from payments.services import paying, refunds
from payments.tests.factories import PIN

pytestmark = pytest.mark.django_db
SP = zoneinfo.ZoneInfo("America/Sao_Paulo")
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def at(month, day, hour, minute=0):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=SP)


@pytest.fixture
def shop(business):
    business.timezone = "America/Sao_Paulo"
    business.save(update_fields=["timezone"])
    return business


def _request(owner, conversation, amount):
    return order_services.create_payment_request(
        actor=owner, conversation=conversation,
        lines=[{"name": "Item", "unit_price": amount, "quantity": 1}],
    )  # fmt: skip


def _pay(customer, card, order):
    paying.pay_order(
        payer=customer, order=order, card=card, confirmation="pin", pin=PIN,
        idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip
    order.refresh_from_db()
    return order


def _link(**filters):
    return "/drill?" + "&".join(f"{k}={v}" for k, v in sorted(filters.items()))


def _report(business, first, last):
    return parse_period(business, QueryDict(f"range=custom&from={first}&to={last}"))


@pytest.fixture
def week(owner, shop):
    """3 March 2026: Ana (from instagram) buys R$ 80 and gets R$ 10 back; Bia is asked
    to pay and does not; Caio only says hello. The week before: one chat, no sale."""
    ana, ana_card = customer_with_card(display_name="Ana")
    bia, _card = customer_with_card(display_name="Bia")
    caio, _card = customer_with_card(display_name="Caio")
    old, _card = customer_with_card(display_name="Old")
    with time_machine.travel(at(2, 24, 9), tick=False) as clock:
        start_conversation_with_message(customer=old, business=shop, body="Hi")
        clock.move_to(at(3, 3, 10))
        conv, _m = start_conversation_with_message(
            customer=ana, business=shop, body="Oi", first_touch={"utm_source": "instagram"}
        )
        order = _pay(ana, ana_card, _request(owner, conv, 8_000))
        clock.move_to(at(3, 3, 15))
        conv_b, _m = start_conversation_with_message(customer=bia, business=shop, body="Oi")
        _request(owner, conv_b, 5_000)
        start_conversation_with_message(customer=caio, business=shop, body="Hello")
        clock.move_to(at(3, 5, 12))
        refunds.refund_order(
            actor=owner, order=order, amount=1_000, reason="late",
            idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
        rollups.rebuild(business=shop)
    payment = order.payments.get()
    refund = order.refunds.get()
    return {"net": 8_000 - payment.fee - (refund.amount - refund.fee), "fee": payment.fee,
            "refund": refund.amount - refund.fee, "ana": conv, "bia": conv_b}  # fmt: skip


def test_overview_from_rollups(shop, week):
    o = build_overview(business=shop, report=_report(shop, "2026-03-01", "2026-03-07"),
                       link=_link)  # fmt: skip
    m = {metric.name: metric for metric in o.metrics}
    assert (m["conversations"].value, m["conversations"].previous) == (3, 1)
    assert m["customers"].value == 3 and m["customers"].previous == 1
    assert (m["requests"].value, m["paid"].value) == (2, 1)
    assert m["conversion"].value == Decimal("33.3") and m["conversion"].previous == Decimal("0.0")
    assert (m["gross"].value, m["fee"].value, m["refunds"].value) == (
        8_000, week["fee"], week["refund"]
    )  # fmt: skip
    assert m["net"].value == week["net"] and m["aov"].value == 8_000
    sources = {row[0].value: row[1].value for row in o.tables["sources"].rows}
    assert sources["instagram"] == week["net"] and sources["Direct"] == 0


def test_chats_that_sell_from_rollups(shop, week):
    sales = build_sales(business=shop, report=_report(shop, "2026-03-01", "2026-03-07"),
                        link=_link, chat_url=lambda pk: f"/chat/{pk}")  # fmt: skip
    by_source = {
        row[0].value: [c.value for c in row[1:6]] for row in sales.tables["sales_source"].rows
    }
    assert by_source["instagram"] == [1, 1, 0, 0, Decimal("100.0")]
    assert by_source["Direct"] == [2, 0, 1, 1, Decimal("0.0")]
    lost = sales.tables["sales_lost"].rows
    assert [row[0].value for row in lost] == ["Bia"]
    assert lost[0][0].link == f"/chat/{week['bia'].pk}"
    tuesday = sales.tables["sales_heatmap"].rows[1]  # 3 March 2026 is a Tuesday
    assert tuesday[0].value and tuesday[11].value == Decimal("100.0")  # 10:00, Ana bought
    assert tuesday[16].value == Decimal("0.0")  # 15:00: Bia and Caio


def test_a_sale_at_23_30_in_sao_paulo_is_on_that_local_day(client, owner, shop):
    customer, card = customer_with_card(display_name="Late")
    with time_machine.travel(at(5, 10, 23, 30), tick=False):  # 02:30 UTC on 11 May
        conv, _m = start_conversation_with_message(customer=customer, business=shop, body="Hi")
        _pay(customer, card, _request(owner, conv, 4_000))
        rollups.rebuild(business=shop)
    that_day = build_overview(business=shop, report=_report(shop, "2026-05-10", "2026-05-10"),
                              link=_link)  # fmt: skip
    next_day = build_overview(business=shop, report=_report(shop, "2026-05-11", "2026-05-11"),
                              link=_link)  # fmt: skip
    assert (that_day.current.paid, that_day.current.gross) == (1, 4_000)
    assert next_day.current.paid == 0 and next_day.current.conversations == 0
    client.force_login(owner)
    url = reverse("insights_conversations", args=[shop.slug])
    page = client.get(url + "?range=custom&from=2026-05-10&to=2026-05-10&hour=23&outcome=bought",
                      **EN).content.decode()  # fmt: skip
    assert "Late" in page


def test_drill_down_and_csv_from_rollups(client, owner, shop, week):
    client.force_login(owner)
    base = "?range=custom&from=2026-03-01&to=2026-03-07"
    page = client.get(reverse("insights_conversations", args=[shop.slug]) + base
                      + "&outcome=lost", **EN).content.decode()  # fmt: skip
    assert "Bia" in page and "Ana" not in page
    response = client.get(reverse("insights_conversations_csv", args=[shop.slug]) + base)
    text = b"".join(response.streaming_content).decode()
    ana = next(line for line in text.splitlines() if ",Ana," in line)
    assert ",instagram," in ana and ",bought," in ana
    assert str(Decimal(week["net"]) / 100) in ana
