"""A pushed message is rendered once when its kind renders the same in every language
(``chats.events.render_pushed``): the result must be what rendering the template in
each language gives, byte for byte, and the rendering happens after the commit."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats import events, kinds
from chats.services import messages
from chats.tests.factories import say, start_chat
from core.events import collect_events

pytestmark = pytest.mark.django_db

BODIES = [
    "Oi",
    "see https://example.com/a?b=1&c=<2> or mail me@example.com",
    "quotes \" ' & <b>not bold</b>\nsecond line",
    "ação — 日本語 — 🙂",
]
# A morning, an afternoon (English shows AM / PM, translated), midnight, noon.
MOMENTS = [(9, 5), (15, 42), (0, 0), (12, 0)]


@pytest.fixture
def customer(db):
    return UserFactory(email="carla@example.com")


def _by_template(message) -> dict[str, str]:
    return {code: events._render([message], code)[0] for code, _name in settings.LANGUAGES}


@pytest.mark.parametrize("body", BODIES)
def test_a_text_message_rendered_once_is_each_languages_template(business, customer, body):
    conversation = start_chat(business, customer)
    message = say(customer, conversation, body)
    for hour, minute in MOMENTS:
        message.created_at = timezone.make_aware(datetime.datetime(2026, 3, 4, hour, minute))

        [html] = events.render_pushed([message])

        assert html == _by_template(message)
        assert set(html) == {code for code, _name in settings.LANGUAGES}


def test_system_notes_and_other_kinds_too(business, customer, owner):
    from catalog.tests.factories import make_product

    conversation = start_chat(business, customer)
    note = messages.post_system_note(conversation=conversation, body="You <blocked> this contact")
    product = make_product(owner, business, name="Broa", price=500)
    card, _ = messages.share_product(
        actor=customer, conversation=conversation, product_id=product.pk
    )
    assert kinds.get("system").same_in_every_language
    assert not kinds.get("product").same_in_every_language

    assert events.render_pushed([note, card]) == [_by_template(note), _by_template(card)]


def test_pushed_messages_are_rendered_after_the_commit(
    business, customer, monkeypatch, django_capture_on_commit_callbacks
):
    """Not while the transaction holds the conversation's row lock; the events carry
    the HTML all the same."""
    conversation = start_chat(business, customer)
    rendered = []
    render = events.render_pushed

    def spy(batch, **kwargs):
        rendered.append([m.body for m in batch])
        return render(batch, **kwargs)

    monkeypatch.setattr(events, "render_pushed", spy)
    with collect_events() as pending:
        with django_capture_on_commit_callbacks(execute=True):
            message = say(customer, conversation, "after the lock")
            assert rendered == []  # the service is done: its transaction is
        assert rendered == [["after the lock"]]

    [event] = [e for _group, e in pending if e["type"] == "chat.message"]
    assert event["html"] == _by_template(message)


def test_a_failed_rendering_sends_the_event_without_html(
    business, customer, monkeypatch, django_capture_on_commit_callbacks
):
    """The sockets then read the message from the database (ChatConsumer.chat_message)."""
    conversation = start_chat(business, customer)

    def broken(batch, **kwargs):
        raise RuntimeError("template error")

    monkeypatch.setattr(events, "render_pushed", broken)
    with collect_events() as pending, django_capture_on_commit_callbacks(execute=True):
        say(customer, conversation, "unrendered")

    [event] = [e for _group, e in pending if e["type"] == "chat.message"]
    assert event["html"] == {} and event["message"]["seq"] == 1
