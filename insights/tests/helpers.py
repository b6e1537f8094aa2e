"""Helpers of the insights tests: clicks, conversations and paid orders made through
the services, as visitors, customers and merchants make them."""

import uuid

from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from accounts.tests.factories import UserFactory
from chats.services import conversations
from insights.services import touches
from payments.services import orders, paying, pins
from payments.tests.factories import PIN, card_for

BROWSER = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)


def click(business, *, ip="203.0.113.7", agent=BROWSER, user=None, page="shop", **params):
    """A visitor opens the shop page of ``business`` with ``params`` in its URL; the
    click is buffered (not written: ``touches.flush()`` writes it). True if counted."""
    request = RequestFactory().get(
        f"/s/{business.slug}/", params, HTTP_USER_AGENT=agent, REMOTE_ADDR=ip
    )
    request.user = user or AnonymousUser()
    return touches.record_click(request, business_id=business.pk, page=page)


def customer_with_card(**fields):
    user = UserFactory(**fields)
    pins.set_pin(user=user, pin=PIN, pin_again=PIN)
    return user, card_for(user)


def start_chat(business, customer, *, ip="203.0.113.7", agent=BROWSER, **touch):
    """``customer`` starts a chat from a web page (their address and browser known)."""
    conversation, _created = conversations.start_conversation(
        customer=customer, business=business, first_touch=touch,
        client={"ip": ip, "user_agent": agent},
    )  # fmt: skip
    return conversation


def paid_order(owner, conversation, customer, card, amount=10_000):
    """A payment request of ``amount`` from ``owner``, paid by ``customer``."""
    order = orders.create_payment_request(
        actor=owner,
        conversation=conversation,
        lines=[{"name": "Item", "unit_price": amount, "quantity": 1}],
    )
    paying.pay_order(
        payer=customer, order=order, card=card, confirmation="pin", pin=PIN,
        idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip
    order.refresh_from_db()
    return order
