"""The consent log (LGPD art. 8): every change of a contact's consent to offers is a
record written with the change (who, when, where, the words shown, their version);
nothing else writes one, and none is ever changed."""

import itertools

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from chats.models import AppendOnlyError, ConsentRecord, Contact
from chats.services import consent
from chats.tests.factories import say, start_chat
from marketing import services as marketing

pytestmark = pytest.mark.django_db


def contact_of(business, customer=None):
    conversation = start_chat(business, customer)
    return Contact.objects.select_related("business", "user").get(pk=conversation.contact_id)


def test_each_change_is_recorded_with_who_where_and_the_words(business, client):
    contact = contact_of(business)
    customer = contact.user
    client.force_login(customer)
    url = reverse("chat_offers", args=[contact.conversation.pk])

    client.post(url, {"offers": "1"}, HTTP_ACCEPT_LANGUAGE="en")
    client.post(url, {"offers": "1"}, HTTP_ACCEPT_LANGUAGE="en")  # no change: no record
    client.post(url, {"offers": "0"}, HTTP_ACCEPT_LANGUAGE="en")
    consent.grant_offers_consent(customer=customer, contact=contact, source="payment")
    say(customer, contact.conversation, "STOP")
    consent.grant_offers_consent(customer=customer, contact=contact, source="chat")
    marketing.opt_out_by_link(token=marketing.optout_token(contact.pk))

    rows = list(ConsentRecord.objects.filter(contact=contact))
    assert [(r.action, r.source) for r in rows] == [
        ("given", "chat"),
        ("withdrawn", "chat"),
        ("given", "payment"),
        ("withdrawn", "keyword"),
        ("given", "chat"),
        ("withdrawn", "link"),
    ]
    assert [r.actor_id for r in rows] == [customer.pk] * 5 + [None]  # a link names no one
    assert rows[0].text == "Receive offers from Padaria Central"
    assert rows[1].text == "Stop offers from Padaria Central"
    assert rows[2].text.startswith("Send me this shop's offers")
    assert rows[3].text == "STOP"  # the customer's own words
    assert rows[5].text == "Stop offers from Padaria Central?"
    assert {r.text_version for r in rows} == {consent.CONSENT_TEXT_VERSION}
    assert all(a.created_at <= b.created_at for a, b in itertools.pairwise(rows))


def test_the_log_is_append_only_through_the_orm(business):
    contact = contact_of(business)
    consent.grant_offers_consent(customer=contact.user, contact=contact, source="chat")
    record = ConsentRecord.objects.get(contact=contact)
    record.text = "something else"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.filter(pk=record.pk).update(text="x")
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.filter(pk=record.pk).delete()
    with pytest.raises(AppendOnlyError), transaction.atomic():
        ConsentRecord.objects.bulk_update([record], ["text"])
    assert ConsentRecord.objects.get(pk=record.pk).text == "Receive offers from Padaria Central"


@pytest.mark.needs_postgres
def test_postgresql_refuses_an_update_but_lets_a_deleted_actor_go(business):
    contact = contact_of(business)
    consent.grant_offers_consent(customer=contact.user, contact=contact, source="chat")
    record = ConsentRecord.objects.get(contact=contact)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE chats_consentrecord SET text = 'forged' WHERE id = %s", [record.pk])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE chats_consentrecord SET actor_id = NULL, source = 'link' WHERE id = %s",
            [record.pk],
        )
    with connection.cursor() as cursor:  # what Django does when the actor's row goes
        cursor.execute("UPDATE chats_consentrecord SET actor_id = NULL WHERE id = %s", [record.pk])
    record = ConsentRecord.objects.get(pk=record.pk)
    assert record.actor_id is None and record.text == "Receive offers from Padaria Central"


def test_the_customer_panel_shows_the_log(business, owner, client):
    contact = contact_of(business)
    consent.grant_offers_consent(customer=contact.user, contact=contact, source="payment")
    client.force_login(owner)
    page = client.get(
        reverse("inbox_thread", args=[business.slug, contact.conversation.pk]),
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert "Consent to offers" in page and "When paying" in page
    assert "Send me this shop&#x27;s offers" in page and consent.CONSENT_TEXT_VERSION in page
