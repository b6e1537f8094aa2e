"""Consent and opt-out (pay form box, chat switch, signed link, STOP keywords),
audience selection, at most one offer per contact, throttling, progress."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import make_product
from chats import events
from chats.models import Contact, Message, ScheduledMessage
from chats.services import consent, inbox, outbox
from chats.services import settings as chat_settings
from chats.tests.factories import say, start_chat
from core.errors import AppError
from marketing import selectors, services
from marketing.models import Broadcast
from payments.services import orders
from payments.tests.factories import card_for, pay

pytestmark = pytest.mark.django_db
SM = ScheduledMessage.Status


def opted_in(business, customer=None, source="chat"):
    conversation = start_chat(business, customer)
    contact = Contact.objects.get(pk=conversation.contact_id)
    consent.grant_offers_consent(customer=contact.user, contact=contact, source=source)
    return contact


def offers_to(contact):
    return ScheduledMessage.objects.filter(conversation__contact=contact, kind="offer")


def broadcast(owner, business, **kwargs):
    kwargs.setdefault("text", "Hi {first_name}! New cakes at {business}.")
    kwargs.setdefault("audience", "all")
    return services.create_broadcast(actor=owner, business=business, **kwargs)


# --- Consent -----------------------------------------------------------------------------


def test_consent_records_time_and_source_once(business):
    contact = opted_in(business, source="payment")
    first = contact.offers_consent_at
    assert first is not None and contact.offers_consent_source == "payment"
    assert (
        consent.grant_offers_consent(customer=contact.user, contact=contact, source="chat") is False
    )
    contact.refresh_from_db()
    assert contact.offers_consent_at == first and contact.offers_consent_source == "payment"


def test_only_the_customer_gives_their_consent(business, outsider, owner):
    conversation = start_chat(business)
    contact = Contact.objects.get(pk=conversation.contact_id)
    for user in (outsider, owner):
        with pytest.raises(AppError) as exc:
            consent.grant_offers_consent(customer=user, contact=contact, source="chat")
        assert exc.value.status_code == 404
    contact.refresh_from_db()
    assert contact.offers_consent_at is None


def test_contacts_without_consent_are_never_sent_offers(owner, business):
    # given one opted-in contact, one who never agreed, one who opted out, one blocked
    yes = opted_in(business)
    never = Contact.objects.get(pk=start_chat(business).contact_id)
    gone = opted_in(business)
    consent.withdraw_offers_consent(contact=gone, source="chat")
    blocked = opted_in(business)
    inbox.block_contact(actor=owner, conversation=blocked.conversation, blocked=True)
    # when a broadcast to everyone is sent
    b = broadcast(owner, business)
    outbox.send_due()
    # then only the opted-in contact got it
    assert b.recipients == 1
    assert Message.objects.filter(kind="offer").count() == 1
    assert Message.objects.get(kind="offer").conversation.contact_id == yes.pk
    for contact in (never, gone, blocked):
        assert not offers_to(contact).exists()


def test_each_contact_gets_a_broadcast_at_most_once(owner, business):
    contact = opted_in(business)
    b = broadcast(owner, business)
    # a second scheduling of the same rows (a retried request) adds nothing
    from chats.services.outbox_bulk import Row, schedule_many

    key = f"broadcast:{b.pk}:contact:{contact.pk}"
    schedule_many(
        kind="offer",
        rows=[Row(conversation_id=contact.conversation.pk, dedupe_key=key, due_at=timezone.now())],
    )
    assert ScheduledMessage.objects.filter(dedupe_key=key).count() == 1
    outbox.send_due()
    outbox.send_due()
    assert Message.objects.filter(kind="offer", conversation__contact=contact).count() == 1


def test_offer_text_is_personal_and_carries_the_optout_link(owner, business, client):
    contact = opted_in(business, UserFactory(display_name="Dora Lima"))
    cake = make_product(owner, business, name="Bolo de fubá", price=3000)
    broadcast(owner, business, product_ids=[cake.pk])
    outbox.send_due()
    message = Message.objects.get(kind="offer")
    assert message.body == "Hi Dora! New cakes at Padaria Central."
    html = events.render_messages([message])[0]
    assert "Bolo de fubá" in html
    # The signed token carries the second it was made: compare whom it names.
    prefix = reverse("offers_optout", args=["TOKEN"]).split("TOKEN")[0]
    [token] = re.findall(re.escape(prefix) + r"([^/\"]+)/", html)
    assert services.contact_for_token(token) == contact


def test_the_optout_link_works_without_login(owner, business, client):
    contact = opted_in(business)
    b = broadcast(owner, business, send_at=timezone.now() + datetime.timedelta(hours=1))
    url = reverse("offers_optout", args=[services.optout_token(contact.pk)])
    # the link shows a confirmation page; nothing changes on GET
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and b"Stop receiving offers" in response.content
    contact.refresh_from_db()
    assert contact.accepts_offers
    # one click: opted out, the pending offer skipped
    response = client.post(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert b"no longer receive offers" in response.content
    contact.refresh_from_db()
    assert not contact.accepts_offers and contact.offers_opt_out_source == "link"
    assert selectors.broadcast_progress(b)["skipped"] == 1


@pytest.mark.parametrize(
    "token",
    ["nope", "x" * 300, services.optout_token(10**9)],
    # Named: the signed token changes with the clock, and pytest-xdist's workers must
    # collect the same test ids.
    ids=["nope", "oversized", "unknown-contact"],
)
def test_a_forged_or_broken_optout_link_is_not_found(client, token, db):
    response = client.get(reverse("offers_optout", args=[token]))
    assert response.status_code == 404
    assert client.post(reverse("offers_optout", args=[token])).status_code == 404


@pytest.mark.parametrize("body", ["STOP", "stop", " Sair ", "PARAR!", "párár", "Stop."])
def test_stop_keywords_opt_out_with_a_confirmation(business, body):
    contact = opted_in(business)
    say(contact.user, contact.conversation, body)
    contact.refresh_from_db()
    assert not contact.accepts_offers and contact.offers_opt_out_source == "keyword"
    note = Message.objects.filter(conversation=contact.conversation, kind="system").last()
    assert "no longer receive offers from Padaria Central" in note.body


@pytest.mark.parametrize("body", ["please stop sending", "stopped", "STOP STOP", "sairá"])
def test_other_messages_do_not_opt_out(business, body):
    contact = opted_in(business)
    say(contact.user, contact.conversation, body)
    contact.refresh_from_db()
    assert contact.accepts_offers


def test_staff_writing_stop_does_not_opt_the_customer_out(owner, business):
    contact = opted_in(business)
    say(owner, contact.conversation, "STOP")
    contact.refresh_from_db()
    assert contact.accepts_offers


# --- Audiences ----------------------------------------------------------------------------


def test_audience_by_label(owner, business):
    vip = chat_settings.create_label(actor=owner, business=business, name="VIP", color="green")
    a, b = opted_in(business), opted_in(business)
    inbox.set_labels(actor=owner, conversation=a.conversation, label_ids=[vip.pk])
    result = broadcast(owner, business, audience="label", label_id=vip.pk)
    assert result.recipients == 1 and offers_to(a).count() == 1 and not offers_to(b).exists()


def _buy(owner, business, contact, product):
    order = orders.create_payment_request(
        actor=owner,
        conversation=contact.conversation,
        lines=[{"product_id": product.pk, "quantity": 1}],
    )
    from payments.services import pins

    pins.set_pin(user=contact.user, pin="730519", pin_again="730519")
    pay(contact.user, order, card_for(contact.user))
    return order


def test_audience_by_product_and_by_last_purchase(owner, business):
    cake = make_product(owner, business, name="Bolo", price=1000, stock=10)
    bread = make_product(owner, business, name="Pão", price=500, stock=10)
    cake_buyer, bread_buyer, nobody = opted_in(business), opted_in(business), opted_in(business)
    _buy(owner, business, cake_buyer, cake)
    old = _buy(owner, business, bread_buyer, bread)
    # bread_buyer's purchase is old; cake_buyer's is today
    type(old).objects.filter(pk=old.pk).update(paid_at=timezone.now() - datetime.timedelta(days=60))
    by_product = broadcast(owner, business, audience="product", product_id=cake.pk)
    assert by_product.recipients == 1 and offers_to(cake_buyer).count() == 1
    cutoff = (timezone.now() - datetime.timedelta(days=30)).date()
    lapsed = broadcast(owner, business, audience="lapsed", before=cutoff)
    assert lapsed.recipients == 1 and offers_to(bread_buyer).count() == 1
    assert not offers_to(nobody).exists()


def test_bad_broadcasts_are_refused_and_change_nothing(owner, business, other, agent):
    opted_in(business)
    foreign_label = chat_settings.create_label(
        actor=other.owner, business=other.business, name="X", color="gray"
    )
    foreign_product = make_product(other.owner, other.business, name="Alien", price=100)
    tomorrow = timezone.now().date() + datetime.timedelta(days=2)
    cases = [
        ({"text": "Hi {nome}"}, "unknown_placeholder"),
        ({"text": "Hi {product}"}, "unknown_placeholder"),
        ({"text": "<a href=x>hi</a>"}, "markup"),
        ({"audience": "everyone"}, "invalid_audience"),
        ({"audience": "label", "label_id": foreign_label.pk}, "not_found"),
        ({"audience": "label", "label_id": "1"}, "not_found"),
        ({"audience": "product", "product_id": foreign_product.pk}, "not_found"),
        ({"audience": "lapsed", "before": None}, "invalid_date"),
        ({"audience": "lapsed", "before": tomorrow}, "invalid_date"),
        ({"product_ids": [foreign_product.pk]}, "not_found"),
        ({"product_ids": list(range(1, 20))}, "too_many_products"),
        ({"send_at": timezone.now() + datetime.timedelta(days=400)}, "invalid_send_at"),
        ({"send_at": datetime.datetime(2030, 1, 1)}, "invalid_send_at"),
    ]  # fmt: skip
    for kwargs, code in cases:
        with pytest.raises(AppError) as exc:
            broadcast(owner, business, **kwargs)
        assert exc.value.code == code, kwargs
    with pytest.raises(AppError) as exc:
        broadcast(agent, business)
    assert exc.value.code == "forbidden"
    with pytest.raises(AppError):
        broadcast(other.owner, business)
    assert not Broadcast.objects.exists() and not ScheduledMessage.objects.exists()


def test_a_broadcast_nobody_would_receive_is_refused(owner, business, client):
    label = chat_settings.create_label(actor=owner, business=business, name="VIP", color="gray")
    opted_in(business)  # accepts offers, but has no "VIP" label

    with pytest.raises(AppError) as exc:
        broadcast(owner, business, audience="label", label_id=label.pk)

    assert exc.value.code == "no_recipients" and exc.value.field == "audience"
    assert "Nobody would receive" in str(exc.value.message)
    assert not Broadcast.objects.exists() and not ScheduledMessage.objects.exists()


# --- Throttle and progress -------------------------------------------------------------------


def test_sending_is_throttled_by_spacing_due_times(owner, business, settings):
    settings.BROADCAST_MESSAGES_PER_SECOND = 2
    for _i in range(5):
        opted_in(business)
    start = timezone.now() + datetime.timedelta(minutes=1)
    b = broadcast(owner, business, send_at=start)
    due = sorted(
        ScheduledMessage.objects.filter(dedupe_key__startswith=b.key_prefix).values_list(
            "due_at", flat=True
        )
    )
    assert [(d - due[0]).total_seconds() for d in due] == [0, 0.5, 1.0, 1.5, 2.0]
    assert abs((due[0] - start).total_seconds()) < 1
    # nothing is due yet, so nothing is sent
    assert outbox.send_due() == 0


def test_progress_counts_sent_failed_skipped(owner, business):
    contacts = [opted_in(business) for _i in range(4)]
    b = broadcast(owner, business)
    assert selectors.broadcast_progress(b) | {} == {
        "total": 4, "sent": 0, "failed": 0, "skipped": 0, "pending": 4, "finished": 0,
        "done": False, "percent": 0,
    }  # fmt: skip
    consent.withdraw_offers_consent(contact=contacts[0], source="chat")
    ScheduledMessage.objects.filter(conversation__contact=contacts[1]).update(status=SM.FAILED)
    outbox.send_due()
    progress = selectors.broadcast_progress(b)
    assert (progress["sent"], progress["failed"], progress["skipped"]) == (2, 1, 1)
    assert progress["done"] and progress["percent"] == 100


def test_a_batch_sends_due_offers_once_in_one_transaction(owner, business):
    contacts = [opted_in(business) for _i in range(5)]
    b = broadcast(owner, business)
    claimed, next_due = services.send_broadcast_batch(broadcast_id=b.pk, limit=3)
    assert claimed == 3 and next_due is not None
    claimed, next_due = services.send_broadcast_batch(broadcast_id=b.pk, limit=3)
    assert claimed == 2 and next_due is None
    assert services.send_broadcast_batch(broadcast_id=b.pk) == (0, None)
    for contact in contacts:
        assert Message.objects.filter(kind="offer", conversation__contact=contact).count() == 1
    b.refresh_from_db()
    assert b.finished_at is not None
    assert selectors.broadcast_progress(b)["sent"] == 5


def test_a_batch_follows_the_throttle_and_skips_opted_out(owner, business, settings):
    settings.BROADCAST_MESSAGES_PER_SECOND = 0.1  # one every 10 s
    first, _second = opted_in(business), opted_in(business)
    b = broadcast(owner, business)
    consent.withdraw_offers_consent(contact=first, source="keyword")
    claimed, next_due = services.send_broadcast_batch(broadcast_id=b.pk)
    assert claimed == 0 and next_due > timezone.now()  # the second is due in 10 s
    assert selectors.broadcast_progress(b)["skipped"] == 1
    assert not Message.objects.filter(kind="offer").exists()


def test_opting_out_also_cancels_a_failed_offer(owner, business):
    contact = opted_in(business)
    broadcast(owner, business)
    offers_to(contact).update(status=SM.FAILED)
    say(contact.user, contact.conversation, "PARAR")
    assert list(offers_to(contact).values_list("status", flat=True)) == [SM.CANCELED]


def test_an_offer_the_opt_out_missed_is_canceled_when_sent_again(owner, business):
    """An opt-out leaves alone the offers an outbox worker holds at that moment
    (marketing/tests/test_locking.py); one of them that then failed is canceled, not
    sent, when the outbox tries again."""
    contact, other = opted_in(business), opted_in(business)
    b = broadcast(owner, business)
    Contact.objects.filter(pk=contact.pk).update(offers_consent_at=None)  # as if missed
    assert outbox.send_due() == 2
    assert list(offers_to(contact).values_list("status", flat=True)) == [SM.CANCELED]
    assert list(offers_to(other).values_list("status", flat=True)) == [SM.SENT]
    assert not Message.objects.filter(kind="offer", conversation__contact=contact).exists()
    assert selectors.broadcast_progress(b)["skipped"] == 1
