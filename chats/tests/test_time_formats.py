"""One clock per language: the inbox row's time and the bubble's time read the same
("11:39 PM" in English, "23:39" in Portuguese)."""

import pytest
from django.utils import timezone, translation

from accounts.tests.factories import UserFactory
from chats import events
from chats.templatetags.chats import chat_time
from chats.tests.factories import say, start_chat

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "expected"), [("en", "11:39 PM"), ("pt-br", "23:39")])
def test_the_list_and_the_bubble_show_the_same_time(business, language, expected):
    customer = UserFactory()
    conversation = start_chat(business, customer)
    moment = timezone.localtime().replace(hour=23, minute=39)
    message = say(customer, conversation, "Oi")
    message.created_at = moment
    (bubble,) = events.render_messages([message], language)
    with translation.override(language):
        assert chat_time(moment) == expected
    assert f">{expected}</time>" in bubble
