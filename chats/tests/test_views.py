import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Business
from accounts.tests.factories import UserFactory
from catalog.selectors import list_picks
from catalog.tests.factories import make_product
from chats.models import Contact, ContactNote, Conversation, Message, Report
from chats.services import conversations as chat_conversations
from chats.services import inbox as chat_inbox
from chats.services import settings as chat_settings
from chats.tests.factories import say, start_chat
from core.errors import AppError

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(db):
    return UserFactory(email="carla@example.com", display_name="Carla")


def test_click_to_chat_sends_anonymous_visitors_to_sign_in_keeping_the_link(client, business):
    response = client.get(
        "/c/padaria-central?text=Oi&ref=flyer", HTTP_REFERER="https://ig.example/p"
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "ref%3Dflyer" in response["Location"] and "referrer%3D" in response["Location"]


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


CLICK = "/c/padaria-central?text=Quero+p%C3%A3o&ref=flyer&utm_source=instagram&utm_campaign=natal"


def test_click_to_chat_shows_the_chat_page_and_creates_nothing(client, business, owner, customer):
    # given a shop with a greeting, and a signed-in visitor who never wrote to it
    chat_settings.update_inbox_settings(
        actor=owner,
        business=business,
        greeting_enabled=True,
        greeting_text="Olá! Bem-vinda à Padaria.",
    )
    client.force_login(customer)

    # when a link on another site brings them to the click-to-chat URL
    response = client.get(CLICK, HTTP_REFERER="https://instagram.example/post")

    # then they see the shop's chat page, the link's text in the message box
    html = response.content.decode()
    assert response.status_code == 200
    assert "Padaria Central" in html and "Olá! Bem-vinda à Padaria." in html
    assert re.search(r'<textarea name="body"[^>]*>Quero pão</textarea>', html)
    assert 'name="csrfmiddlewaretoken"' in html
    # and nothing was created: no contact, no conversation, no message
    assert (Contact.objects.count(), Conversation.objects.count(), Message.objects.count()) == (
        0,
        0,
        0,
    )


def test_sending_from_the_chat_page_starts_the_conversation_with_the_touch(
    client, business, customer
):
    # given the chat page opened from a campaign link on another site
    client.force_login(customer)
    page = client.get(CLICK, HTTP_REFERER="https://instagram.example/post").content.decode()

    # when the visitor sends the (edited) first message
    response = client.post(
        "/c/padaria-central",
        {
            "body": "Quero pão de queijo",
            "client_id": _hidden(page, "client_id"),
            "touch": _hidden(page, "touch"),
        },
        HTTP_REFERER="http://testserver/c/padaria-central",
    )

    # then the conversation exists with that first message and the click's touch
    conversation = Conversation.objects.get(contact__user=customer)
    assert response.status_code == 302
    assert response["Location"] == f"/chats/{conversation.pk}/#msg-1"
    assert [m.body for m in conversation.messages.all()] == ["Quero pão de queijo"]
    touch = (conversation.ref, conversation.utm_source, conversation.utm_campaign)
    assert touch == ("flyer", "instagram", "natal")
    assert conversation.referrer == "https://instagram.example/post"
    # and sending the same form again (a double click) sends nothing more
    client.post(
        "/c/padaria-central",
        {"body": "Quero pão de queijo", "client_id": _hidden(page, "client_id")},
    )
    assert Message.objects.count() == 1


def test_the_first_message_needs_the_csrf_token(business, customer):
    # given a signed-in visitor and a page on another site that posts to the link
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)

    # when it posts without the page's token
    response = client.post("/c/padaria-central", {"body": "Hi"})

    # then it is refused and nothing is created
    assert response.status_code == 403
    assert Conversation.objects.count() == 0 and Message.objects.count() == 0


@pytest.mark.parametrize("touch", ["", "forged", '{"ref": "x"}'])
def test_a_missing_or_forged_touch_is_ignored(client, business, customer, touch):
    client.force_login(customer)

    response = client.post("/c/padaria-central", {"body": "Oi", "touch": touch})

    conversation = Conversation.objects.get(contact__user=customer)
    assert response.status_code == 302
    assert (conversation.ref, conversation.referrer) == ("", "")


@pytest.mark.parametrize(
    ("body", "error"), [("", "Write a message"), ("x" * 5000, "at most")], ids=["empty", "long"]
)
def test_a_refused_first_message_leaves_nothing(client, business, customer, body, error):
    client.force_login(customer)

    response = client.post("/c/padaria-central", {"body": body})

    assert response.status_code == 400
    assert error in response.content.decode()
    assert Contact.objects.count() == 0 and Conversation.objects.count() == 0


def test_a_visitor_with_a_conversation_is_taken_to_it(client, business, customer):
    conversation = start_chat(business, customer)
    client.force_login(customer)

    response = client.get("/c/padaria-central?text=Oi+de+novo&ref=again")

    assert response.status_code == 302
    assert response["Location"] == f"/chats/{conversation.pk}/?text=Oi+de+novo"
    conversation.refresh_from_db()
    assert conversation.ref == "" and Message.objects.count() == 0


def test_the_shops_own_team_is_sent_to_the_inbox(client, business, owner):
    client.force_login(owner)

    for response in (
        client.get("/c/padaria-central"),
        client.post("/c/padaria-central", {"body": "x"}),
    ):
        assert response.status_code == 302
        assert response["Location"] == reverse("inbox", args=["padaria-central"])
    assert Conversation.objects.count() == 0


def test_click_to_chat_for_unknown_business_is_404(client, customer):
    client.force_login(customer)
    assert client.get("/c/nope").status_code == 404
    assert client.post("/c/nope", {"body": "Hi"}).status_code == 404


def test_ask_about_product_prefills_text_and_posts_a_product_card(
    client, business, owner, customer
):
    product = make_product(owner, business, name="Sourdough")
    client.force_login(customer)
    response = client.get(f"/c/padaria-central?product={product.pk}")
    html = response.content.decode()
    assert "Sourdough" in html and "know more about Sourdough" in html
    assert Conversation.objects.count() == 0
    response = client.post(
        "/c/padaria-central",
        {"body": "Is it fresh?", "product": _hidden(html, "product"), "client_id": "c1"},
    )
    assert response.status_code == 302
    message = Message.objects.get()
    assert message.kind == "product" and message.payload["product_id"] == product.pk
    assert message.conversation.contact.user == customer


def test_asking_about_another_shops_product_creates_nothing(client, business, customer, other):
    theirs = make_product(other.owner, other.business, name="Theirs")
    client.force_login(customer)

    response = client.post("/c/padaria-central", {"body": "Hi", "product": theirs.pk})

    assert response.status_code == 400
    assert Conversation.objects.count() == 0 and Message.objects.count() == 0


def test_thread_shows_messages_escaped_and_marks_read(client, business, owner, customer):
    conversation = start_chat(business, customer)
    say(customer, conversation, "<script>alert(1)</script> see https://example.com")
    client.force_login(owner)
    response = client.get(reverse("inbox_thread", args=["padaria-central", conversation.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert 'href="https://example.com"' in html and "nofollow" in html
    assert conversation.participants.get(business=business).unread == 0


def test_send_by_form_is_idempotent_and_json_for_scripts(client, business, customer):
    conversation = start_chat(business, customer)
    client.force_login(customer)
    url = reverse("chat_send", args=[conversation.pk])
    first = client.post(url, {"body": "Oi", "client_id": "abc"}, HTTP_ACCEPT="application/json")
    again = client.post(url, {"body": "Oi", "client_id": "abc"}, HTTP_ACCEPT="application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["seq"] == again.json()["seq"] == 1
    assert Message.objects.count() == 1
    bad = client.post(url, {"body": "", "client_id": "x"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "empty"


def test_send_non_image_file_is_refused(client, business, customer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation = start_chat(business, customer)
    client.force_login(customer)
    fake = SimpleUploadedFile("cat.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = client.post(
        reverse("chat_send", args=[conversation.pk]),
        {"body": "", "image": fake},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_image_message(client, business, customer):
    from core.tests.uploads import png_upload

    conversation = start_chat(business, customer)
    client.force_login(customer)
    client.post(
        reverse("chat_send", args=[conversation.pk]),
        {"body": "my cake", "image": png_upload((120, 80), "c.png")},
    )
    message = Message.objects.get()
    assert message.kind == "image" and message.image.name.endswith(".webp")
    page = client.get(reverse("chat_thread", args=[conversation.pk])).content.decode()
    assert message.image_thumb.url in page


@pytest.mark.parametrize("who", ["outsider", "other_owner"])
def test_strangers_get_404_everywhere(client, business, customer, outsider, other, who):
    conversation = start_chat(business, customer)
    say(customer, conversation, "private")
    client.force_login(outsider if who == "outsider" else other.owner)
    pk = conversation.pk
    for url in (
        reverse("chat_thread", args=[pk]),
        reverse("chat_messages", args=[pk]) + "?after=0",
        reverse("inbox_thread", args=["padaria-central", pk]),
        reverse("inbox_row", args=["padaria-central", pk]),
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        reverse("chat_send", args=[pk]),
        reverse("chat_read", args=[pk]),
        reverse("chat_report", args=[pk]),
        reverse("inbox_action", args=["padaria-central", pk, "status"]),
    ):
        assert (
            client.post(url, {"body": "x", "status": "resolved", "reason": "x"}).status_code == 404
        )
    assert Message.objects.count() == 1 and not Report.objects.exists()
    if who == "other_owner":
        url = reverse("inbox_thread", args=["loja-vizinha", pk])
        assert client.get(url).status_code == 404


def _chats(business, n, start=0):
    for i in range(start, start + n):
        someone = UserFactory(display_name=f"Cliente {i}")
        say(someone, start_chat(business, someone), f"pedido {i}")


def _count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_inbox_lists_with_filters_and_fixed_queries(client, business, owner, settings):
    settings.CHAT_MESSAGES_PER_MINUTE = 1000
    label = chat_settings.create_label(actor=owner, business=business, name="VIP")
    _chats(business, 3)
    client.force_login(owner)
    url = reverse("inbox", args=["padaria-central"])
    few, html = _count_queries(client, url)
    assert html.count('id="row-') == 3
    response = client.get(url + "?q=pedido+1")
    assert response.content.decode().count('id="row-') == 1
    _chats(business, 12, start=3)
    for conversation in Conversation.objects.all():
        chat_inbox.set_labels(actor=owner, conversation=conversation, label_ids=[label.pk])
    many, html = _count_queries(client, url)
    assert html.count('id="row-') == 15
    assert many == few
    # With a thread open the count is fixed too, whatever the thread's length.
    conversation = Conversation.objects.first()
    thread_url = reverse("inbox_thread", args=["padaria-central", conversation.pk])
    # The pickers' products are read once per process and catalog version
    # (catalog/tests/test_picks.py); both visits find them.
    list_picks(business=Business.objects.get(pk=business.pk))
    short, _html = _count_queries(client, thread_url)
    customer = conversation.contact.user
    for i in range(30):
        say(customer, conversation, f"more {i}")
    long, html = _count_queries(client, thread_url)
    assert long == short
    assert html.count('class="msg ') == 31


def test_inbox_actions(client, business, owner, agent, customer):
    conversation = start_chat(business, customer)
    say(customer, conversation, "hello")
    label = chat_settings.create_label(actor=owner, business=business, name="VIP")
    client.force_login(owner)
    base = ["padaria-central", conversation.pk]
    client.post(reverse("inbox_action", args=[*base, "status"]), {"status": "pending"})
    client.post(reverse("inbox_action", args=[*base, "assign"]), {"assignee": agent.pk})
    client.post(reverse("inbox_action", args=[*base, "labels"]), {"labels": [label.pk]})
    client.post(reverse("inbox_action", args=[*base, "notes"]), {"body": "Prefers rye"})
    client.post(reverse("inbox_action", args=[*base, "block"]))
    conversation.refresh_from_db()
    contact = Contact.objects.get(pk=conversation.contact_id)
    assert conversation.status == "pending" and conversation.assignee == agent
    assert list(contact.labels.all()) == [label] and contact.is_blocked
    assert ContactNote.objects.get().body == "Prefers rye"
    # The customer never sees private notes.
    client.force_login(customer)
    page = client.get(reverse("chat_thread", args=[conversation.pk])).content.decode()
    assert "Prefers rye" not in page


def test_direct_chat_by_email(client, customer):
    friend = UserFactory(email="fred@example.com")
    client.force_login(customer)
    response = client.post(reverse("direct_start"), {"who": "FRED@example.com"})
    conversation = Conversation.objects.get(kind="direct")
    assert response["Location"] == reverse("chat_thread", args=[conversation.pk])
    assert client.post(reverse("direct_start"), {"who": "nobody@example.com"}).status_code == 400
    say(friend, conversation, "oi Carla")
    assert "oi Carla" in client.get(reverse("my_chats")).content.decode()


def test_blocking_a_friend_in_a_direct_chat_and_unblocking(client, customer, outsider, business):
    friend = UserFactory(email="fred@example.com")
    conversation, _created = chat_conversations.start_direct_conversation(
        user=customer, peer=friend
    )
    url = reverse("chat_block", args=[conversation.pk])
    client.force_login(customer)
    thread = client.get(reverse("chat_thread", args=[conversation.pk])).content.decode()
    assert f'action="{url}"' in thread

    # when Carla blocks Fred, his messages are refused
    client.post(url, {"blocked": "1"})
    with pytest.raises(AppError) as caught:
        say(friend, conversation, "are you there?")
    assert caught.value.code == "blocked"
    page = client.get(reverse("chat_thread", args=[conversation.pk])).content.decode()
    assert "Unblock" in page

    # then unblocking lets him write again
    client.post(url, {"blocked": "0"})
    say(friend, conversation, "hello again")

    # nobody else can block in it, and a business chat has no block here
    client.force_login(outsider)
    assert client.post(url, {"blocked": "1"}).status_code == 404
    client.force_login(customer)
    shop_chat = start_chat(business, customer)
    response = client.post(reverse("chat_block", args=[shop_chat.pk]), {"blocked": "1"})
    assert response.status_code in (302, 404)
    assert not shop_chat.participants.filter(blocked_at__isnull=False).exists()


def test_report_is_stored(client, business, customer):
    conversation = start_chat(business, customer)
    client.force_login(customer)
    client.post(reverse("chat_report", args=[conversation.pk]), {"reason": "spam"})
    assert Report.objects.get().reason == "spam"


def test_chat_settings_turn_off_emails(client, customer):
    client.force_login(customer)
    client.post(reverse("chat_settings"), {})
    from chats.models import ChatPreferences

    assert ChatPreferences.objects.get(user=customer).email_unread is False


def test_inbox_pages_through_conversations_active_at_the_same_moment(client, business, owner):
    from chats.tests.test_scale import _bulk_conversations

    conversations = _bulk_conversations(business, 120, "same")  # all at one moment
    client.force_login(owner)
    url, seen = reverse("inbox", args=["padaria-central"]), []
    for _page in range(5):
        html = client.get(url).content.decode()

        seen += re.findall(r'id="row-(\d+)"', html)
        older = re.search(r'href="([^"]+)" id="older-conversations"', html)
        if not older:
            break
        url = older.group(1).replace("&amp;", "&")
    assert sorted(map(int, seen)) == sorted(c.pk for c in conversations)
    assert client.get(url.split("?")[0] + "?before=garbage&before_id=x").status_code == 200


def test_api_inbox_pages_through_ties_too(client, business, owner):
    from chats.tests.test_scale import _bulk_conversations

    conversations = _bulk_conversations(business, 30, "tie")
    client.force_login(owner)
    url, seen = "/api/v1/businesses/padaria-central/conversations/?limit=7", []
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(c.pk for c in conversations)
