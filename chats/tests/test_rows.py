"""The chat lists' rows through core.fragments.render_rows: drawn once per distinct
content and language, and only from plain values."""

import pytest
from django.utils import translation

from chats.templatetags.chats import message_preview
from core.fragments import _key, render_rows

TEMPLATE = "chats/_chat_row.html"


def _row(**changes):
    return {
        "url": "/chats/1/",
        "name": "Ana",
        "preview": "oi",
        "at": "2026-12-07T10:00:00+0000",
        "at_label": "10:00",
        "unread": 0,
    } | changes


def test_a_changed_row_is_drawn_again_never_served_stale():
    [first] = render_rows(TEMPLATE, [_row()])
    [same] = render_rows(TEMPLATE, [_row()])
    [changed] = render_rows(TEMPLATE, [_row(preview="tudo bem?", unread=2)])
    assert same == first
    assert "tudo bem?" in changed and "badge-unread" in changed and "badge-unread" not in first


def test_each_language_has_its_own_rows():
    assert _key(TEMPLATE, "en", _row()) != _key(TEMPLATE, "pt-br", _row())
    with translation.override("fr"):
        [french] = render_rows(TEMPLATE, [_row(unread=2)])
    assert "lang" not in french and "2" in french


def test_only_plain_values_make_a_row():
    with pytest.raises(TypeError):
        render_rows(TEMPLATE, [_row(name=object())])


@pytest.mark.django_db
def test_the_chat_list_rows_are_the_users_sides_as_values(business, owner):
    from accounts.tests.factories import UserFactory
    from catalog.tests.factories import make_product
    from chats import selectors
    from chats.services import conversations, messages
    from chats.tests.factories import say, start_chat

    customer = UserFactory(email="carla@example.com")
    friend = UserFactory(email="bia@example.com", display_name="")
    shop = start_chat(business, customer)
    say(customer, shop, "oi")
    product = make_product(owner, business, name="Bolo")
    messages.share_product(actor=owner, conversation=shop, product_id=product.pk)
    direct, _created = conversations.start_direct_conversation(user=customer, peer=friend)
    say(friend, direct, "bora?")
    conversations.start_direct_conversation(user=customer, peer=UserFactory())  # no message

    rows = selectors.list_chat_rows(user=customer)
    sides = selectors.list_my_conversations(user=customer)

    assert (
        [r.conversation_id for r in rows]
        == [s.conversation_id for s in sides]
        == [
            direct.pk,
            shop.pk,
        ]
    )
    assert [r.name for r in rows] == ["bia", "Padaria Central"]
    assert [r.unread for r in rows] == [s.unread for s in sides]
    assert [r.last_message_at for r in rows] == [s.conversation.last_message_at for s in sides]
    with translation.override("en"):
        previews = [message_preview(r.last_message) for r in rows]
        assert previews == [message_preview(s.conversation.last_message) for s in sides]
    assert previews[0] == "bora?" and previews[1] == "🛍 Bolo"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "pending"},
        {"scope": "mine"},
        {"scope": "unassigned"},
        {"q": "pedido 1"},
        {"label": "vip"},
    ],
)
def test_the_inbox_rows_are_list_inbox_as_values(business, owner, settings, filters):
    from accounts.tests.factories import UserFactory
    from chats import selectors
    from chats.services import inbox
    from chats.services import settings as chat_settings
    from chats.tests.factories import say, start_chat

    settings.CHAT_MESSAGES_PER_MINUTE = 1000
    vip = chat_settings.create_label(actor=owner, business=business, name="VIP")
    bulk = chat_settings.create_label(actor=owner, business=business, name="Atacado")
    conversations = []
    for i in range(4):
        someone = UserFactory(display_name=f"Cliente {i}" if i % 2 else "")
        conversation = start_chat(business, someone)
        say(someone, conversation, f"pedido {i}")
        conversations.append(conversation)
    say(owner, conversations[0], "resposta")
    inbox.set_labels(actor=owner, conversation=conversations[1], label_ids=[vip.pk, bulk.pk])
    inbox.set_status(actor=owner, conversation=conversations[2], status="pending")
    inbox.assign(actor=owner, conversation=conversations[3], assignee_id=owner.pk)
    membership = business.memberships.get(user=owner)
    scope = {"business": business, "user": owner, "membership": membership}
    if "label" in filters:
        filters = {**filters, "label": vip.pk}

    rows = selectors.list_inbox_rows(**scope, **filters)
    models = selectors.list_inbox(**scope, **filters)

    assert rows and [r.pk for r in rows] == [c.pk for c in models]
    for row, model in zip(rows, models, strict=True):
        assert row.name == model.contact.user.get_short_name()
        assert row.labels == tuple(
            (label.color, label.name) for label in model.contact.labels.all()
        )
        assert row.assignee == (model.assignee.get_short_name() if model.assignee else None)
        assert (row.status, row.unread, row.last_message_at) == (
            model.status,
            model.unread,
            model.last_message_at,
        )
        assert message_preview(row.last_message) == message_preview(model.last_message)
    one = selectors.get_inbox_row(**scope, conversation_id=rows[-1].pk)
    assert (one.pk, one.name, one.labels, one.unread) == (
        rows[-1].pk,
        rows[-1].name,
        rows[-1].labels,
        rows[-1].unread,
    )
