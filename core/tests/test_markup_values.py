"""Markup values the HTML checker refused: <time datetime> with microseconds (HTML allows
at most milliseconds), aria-label on <del> (not allowed: the old price is read as "was")."""

import re

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import make_product
from chats import events
from chats.tests.factories import say, start_chat

VALID_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$")


@pytest.mark.django_db
def test_time_elements_carry_a_valid_datetime(business):
    customer = UserFactory()
    message = say(customer, start_chat(business, customer), "Oi")
    message.created_at = timezone.now().replace(microsecond=123456)
    (html,) = events.render_messages([message], "en")
    (value,) = re.findall(r'<time datetime="([^"]+)"', html)
    assert VALID_DATETIME.match(value), value


@pytest.mark.django_db
def test_an_old_price_is_read_as_was_without_aria_label_on_del(owner, business):
    product = make_product(owner, business, name="Bolo", price=900)
    product.compare_at_price = 1200
    html = render_to_string(
        "catalog/_product_card.html", {"product": product, "business": business}
    )
    assert "<del>" in html and "aria-label" not in html.split("<del")[1].split(">")[0]
    assert re.search(r'visually-hidden">Was</span>\s*<del>', html)
