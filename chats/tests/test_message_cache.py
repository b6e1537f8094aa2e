"""A thread's messages are drawn once per process without their viewer
(``chats.events._render``), then each viewer's part (``mine``, sent/delivered/read)
is filled in: the page must be what drawing it for that viewer gives, and a change to
what a message shows (its row, its product's catalog) must draw it again."""

from unittest import mock

import pytest

from accounts.tests.factories import UserFactory
from catalog import services as catalog_services
from chats import events, selectors
from chats.models import Message
from chats.services import messages, receipts
from chats.tests.factories import say, start_chat
from core import fragments

pytestmark = pytest.mark.django_db


def _load(conversation):
    return list(Message.objects.filter(conversation=conversation).select_related("sender"))


def _sides(conversation, user):
    seen = selectors.get_conversation_for(user=user, conversation_id=conversation.pk)
    return seen.me, selectors.get_other_side(seen)


def _status_of(other, seq) -> str:
    if seq <= other.last_read_seq:
        return "read"
    return "delivered" if seq <= other.last_delivered_seq else "sent"


def test_each_viewer_gets_their_own_marks_from_one_drawing(business, owner):
    customer = UserFactory(email="carla@example.com")
    conversation = start_chat(business, customer)
    say(customer, conversation, "first")
    say(owner, conversation, "second <b>")
    conversation.refresh_from_db()
    receipts.mark_read(actor=owner, conversation=conversation)
    me, other = _sides(conversation, customer)

    mine = events.render_messages(_load(conversation), "en", me=me, other=other)

    assert 'class="msg msg-kind-text mine"' in mine[0]
    assert 'data-status="read" aria-hidden="true">Read</span>' in mine[0]
    assert "second &lt;b&gt;" in mine[-1] and " mine" not in mine[-1]
    assert 'data-status="read" aria-hidden="true"></span>' in mine[-1]  # theirs: no words

    staff_me, staff_other = _sides(conversation, owner)
    with mock.patch.object(fragments, "get_template", wraps=fragments.get_template) as draw:
        theirs = events.render_messages(_load(conversation), "en", me=staff_me, other=staff_other)
    assert draw.call_count == 0  # drawn for the customer already
    assert " mine" not in theirs[0] and 'data-status="read"' in theirs[0]
    assert 'class="msg msg-kind-text mine"' in theirs[-1]
    status = _status_of(staff_other, 2)
    assert f'data-status="{status}" aria-hidden="true">{status.title()}</span>' in theirs[-1]

    [pushed] = events.render_messages(_load(conversation)[-1:], "en")
    assert " mine" not in pushed and 'data-status="" aria-hidden="true"></span>' in pushed


def test_a_product_card_is_drawn_again_when_its_catalog_changes(business, owner):
    from catalog.tests.factories import make_product

    conversation = start_chat(business)
    product = make_product(owner, business, name="Broa", price=500)
    messages.share_product(actor=owner, conversation=conversation, product_id=product.pk)
    [before] = events.render_messages(_load(conversation)[-1:], "en")
    catalog_services.update_product(actor=owner, product=product, name="Broa de milho")

    [after] = events.render_messages(_load(conversation)[-1:], "en")

    assert "Broa" in before and "Broa de milho" not in before
    assert "Broa de milho" in after


def test_a_changed_message_row_is_drawn_again(business, owner):
    conversation = start_chat(business)
    message = say(owner, conversation, "before")
    [first] = events.render_messages([message], "en")
    Message.objects.filter(pk=message.pk).update(body="after")

    [second] = events.render_messages(_load(conversation)[-1:], "en")

    assert "before" in first and "after" in second and "before" not in second
