"""One e-mail to a customer with unread business replies, after a delay, batched."""

import email

import pytest
from django.core import mail

from accounts.tests.factories import UserFactory
from chats import events, services
from chats.models import Participant
from chats.tests.factories import say, start_chat
from tests.celery_fixtures import TASK_TIMEOUT, wait_for


@pytest.fixture
def customer(db):
    return UserFactory(email="carla@example.com", display_name="Carla")


def _customer_side(conversation):
    return Participant.objects.get(conversation=conversation, user__isnull=False)


@pytest.mark.django_db
def test_replies_schedule_one_email_per_batch(
    business, owner, customer, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "chats.tasks.send_unread_email.apply_async",
        lambda args, kwargs, countdown: sent.append((args, countdown)),
    )
    conversation = start_chat(business, customer)
    say(customer, conversation, "Oi")
    with django_capture_on_commit_callbacks(execute=True):
        say(owner, conversation, "Olá Carla!")
        say(owner, conversation, "Temos pão fresco.")
    side = _customer_side(conversation)
    assert sent == [((side.pk,), 600)]
    assert side.email_scheduled


@pytest.mark.django_db
def test_email_lists_unread_replies_once(
    business, owner, customer, django_capture_on_commit_callbacks
):
    conversation = start_chat(business, customer)
    say(customer, conversation, "Oi")
    say(owner, conversation, "Olá Carla!")
    say(owner, conversation, "Temos pão <fresco>.")
    side = _customer_side(conversation)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_unread_email(participant_id=side.pk)
    (sent_mail,) = mail.outbox
    assert sent_mail.to == ["carla@example.com"]
    assert "Padaria Central" in sent_mail.subject
    assert "Temos pão <fresco>." in sent_mail.body and "Olá Carla!" in sent_mail.body
    assert f"/chats/{conversation.pk}/" in sent_mail.body
    assert "/chats/settings/" in sent_mail.body
    # Redelivered: nothing new since, nothing sent.
    with django_capture_on_commit_callbacks(execute=True):
        assert not services.send_unread_email(participant_id=side.pk)
    assert len(mail.outbox) == 1
    side.refresh_from_db()
    assert side.emailed_seq == 3 and not side.email_scheduled


@pytest.mark.django_db
@pytest.mark.parametrize("why", ["read", "turned_off", "online"])
def test_no_email_when_read_off_or_online(
    business, owner, customer, why, django_capture_on_commit_callbacks
):
    conversation = start_chat(business, customer)
    say(owner, conversation, "Olá!")
    side = _customer_side(conversation)
    if why == "read":
        services.mark_read(actor=customer, conversation=conversation)
    elif why == "turned_off":
        services.set_chat_preferences(user=customer, email_unread=False)
    else:
        events.presence_join(f"u{customer.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        assert not services.send_unread_email(participant_id=side.pk)
    assert mail.outbox == []


def test_a_real_worker_sends_one_email_after_the_delay(
    celery_worker, settings, business, owner, customer
):
    settings.CHAT_UNREAD_EMAIL_DELAY = 1
    conversation = start_chat(business, customer)
    say(customer, conversation, "Oi")
    say(owner, conversation, "Olá Carla!")
    say(owner, conversation, "Já separei seu pedido.")
    mail_dir = celery_worker.parent / "var" / "mail"

    def emails():
        # Only files the backend has finished writing (it ends each message with a
        # line of dashes): one read while being written has its headers only.
        found = sorted(mail_dir.glob("*.log")) if mail_dir.exists() else []
        return [f for f in found if "-" * 79 in f.read_text()]

    log = lambda: celery_worker.read_text(errors="replace")[-4000:]  # noqa: E731
    assert wait_for(lambda: len(emails()) == 1, TASK_TIMEOUT), log()
    raw = emails()[0].read_text().split("\n" + "-" * 79)[0]
    message = email.message_from_string(raw)
    body = message.get_payload(decode=True).decode()
    assert "Já separei seu pedido." in body and "Olá Carla!" in body
    assert message["To"] == "carla@example.com"
    assert wait_for(lambda: _customer_side(conversation).emailed_seq == 3, TASK_TIMEOUT), log()
    assert not _customer_side(conversation).email_scheduled
