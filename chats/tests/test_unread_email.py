"""One e-mail to a customer with unread business replies, after a delay, batched;
backed by the participant's ``email_due_at`` and the beat's sweep, so a lost task, a
killed sender or a failing mail server loses nothing (docs/outbox.md)."""

import datetime
import email
import smtplib

import pytest
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats import events
from chats.models import Participant
from chats.services import receipts, unread_email
from chats.services import settings as chat_settings
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
    in_ten_minutes = timezone.now() + datetime.timedelta(minutes=10)
    assert abs(side.email_due_at - in_ten_minutes) < datetime.timedelta(seconds=30)


@pytest.fixture
def due_at_once(settings):
    settings.CHAT_UNREAD_EMAIL_DELAY = 0


@pytest.mark.django_db
def test_email_lists_unread_replies_once(
    business, owner, customer, django_capture_on_commit_callbacks, due_at_once
):
    conversation = start_chat(business, customer)
    say(customer, conversation, "Oi")
    say(owner, conversation, "Olá Carla!")
    say(owner, conversation, "Temos pão <fresco>.")
    side = _customer_side(conversation)
    with django_capture_on_commit_callbacks(execute=True):
        assert unread_email.send_unread_email(participant_id=side.pk)
    (sent_mail,) = mail.outbox
    assert sent_mail.to == ["carla@example.com"]
    assert "Padaria Central" in sent_mail.subject
    assert "Temos pão <fresco>." in sent_mail.body and "Olá Carla!" in sent_mail.body
    assert f"/chats/{conversation.pk}/" in sent_mail.body
    assert "/chats/settings/" in sent_mail.body
    assert sent_mail.extra_headers["Message-ID"].startswith(f"<unread.{side.pk}.3@")
    # Redelivered: nothing new since, nothing sent.
    with django_capture_on_commit_callbacks(execute=True):
        assert not unread_email.send_unread_email(participant_id=side.pk)
    assert len(mail.outbox) == 1
    side.refresh_from_db()
    assert side.emailed_seq == 3 and side.email_due_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("why", ["read", "turned_off", "online"])
def test_no_email_when_read_off_or_online(
    business, owner, customer, why, django_capture_on_commit_callbacks, due_at_once
):
    conversation = start_chat(business, customer)
    say(owner, conversation, "Olá!")
    side = _customer_side(conversation)
    if why == "read":
        receipts.mark_read(actor=customer, conversation=conversation)
    elif why == "turned_off":
        chat_settings.set_chat_preferences(user=customer, email_unread=False)
    else:
        events.presence_join(f"u{customer.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        assert not unread_email.send_unread_email(participant_id=side.pk)
    assert mail.outbox == []
    side.refresh_from_db()
    assert side.email_due_at is None  # not pending forever


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
    assert _customer_side(conversation).email_due_at is None


def _reply(owner, conversation, body):
    """The business replies; the task it enqueues is lost (as with a Redis restart)."""
    say(owner, conversation, body)


@pytest.mark.django_db
def test_a_lost_task_is_sent_by_the_sweep_and_a_later_reply_emails_again(
    business, owner, customer, due_at_once
):
    # Given a reply whose accelerating task never runs (on_commit is not executed)
    conversation = start_chat(business, customer)
    say(customer, conversation, "Oi")
    _reply(owner, conversation, "Olá Carla!")
    # When the beat's sweep runs, twice
    assert unread_email.send_due_unread_emails() == 1
    assert unread_email.send_due_unread_emails() == 0
    # Then one e-mail, and nothing is left due
    assert len(mail.outbox) == 1
    side = _customer_side(conversation)
    assert side.email_due_at is None and side.emailed_seq == 2
    # And a later reply is e-mailed again, with only what is new
    _reply(owner, conversation, "Chegou o pão.")
    assert unread_email.send_due_unread_emails() == 1
    assert len(mail.outbox) == 2
    assert "Chegou o pão." in mail.outbox[1].body and "Olá Carla!" not in mail.outbox[1].body


@pytest.mark.django_db
def test_the_sweep_leaves_what_is_not_due_yet(business, owner, customer, settings):
    settings.CHAT_UNREAD_EMAIL_DELAY = 600
    conversation = start_chat(business, customer)
    _reply(owner, conversation, "Olá!")
    assert unread_email.send_due_unread_emails() == 0
    assert not unread_email.send_unread_email(participant_id=_customer_side(conversation).pk)
    assert mail.outbox == []
    assert _customer_side(conversation).email_due_at is not None


@pytest.mark.django_db
def test_a_sender_that_dies_after_claiming_leaves_it_to_the_sweep_after_its_lease(
    business, owner, customer, due_at_once, settings
):
    # Given a sender that claimed the e-mail and died before sending it
    conversation = start_chat(business, customer)
    _reply(owner, conversation, "Olá!")
    side = _customer_side(conversation)
    assert unread_email._claim_unread_email(side.pk) is not None
    # When the sweep runs within the lease: the e-mail is someone else's
    assert unread_email.send_due_unread_emails() == 0
    # Then after the lease it is sent, once
    Participant.objects.filter(pk=side.pk).update(email_due_at=timezone.now())
    assert unread_email.send_due_unread_emails() == 1
    assert unread_email.send_due_unread_emails() == 0
    assert len(mail.outbox) == 1
    assert _customer_side(conversation).email_due_at is None


@pytest.mark.django_db
def test_two_senders_claim_it_once(business, owner, customer, due_at_once):
    conversation = start_chat(business, customer)
    _reply(owner, conversation, "Olá!")
    side = _customer_side(conversation)
    assert unread_email._claim_unread_email(side.pk) is not None
    assert unread_email._claim_unread_email(side.pk) is None


@pytest.mark.django_db
def test_a_reply_while_the_email_is_being_sent_is_emailed_later(
    business, owner, customer, due_at_once, settings
):
    # Given an e-mail claimed (being sent) when the business replies again
    conversation = start_chat(business, customer)
    _reply(owner, conversation, "Olá!")
    side = _customer_side(conversation)
    claim = unread_email._claim_unread_email(side.pk)
    _reply(owner, conversation, "Mais uma coisa.")
    # When that send finishes
    claim.message.send()
    unread_email._finish_unread_email(claim, error=None)
    # Then the new reply is due in a new e-mail
    side.refresh_from_db()
    assert side.emailed_seq == 1 and side.email_due_at is not None
    assert unread_email.send_due_unread_emails() == 1
    assert "Mais uma coisa." in mail.outbox[1].body and "Olá!" not in mail.outbox[1].body


@pytest.mark.django_db
def test_a_failing_mail_server_is_retried_with_backoff_then_given_up(
    business, owner, customer, due_at_once, settings, monkeypatch
):
    settings.CHAT_UNREAD_EMAIL_MAX_ATTEMPTS = 2
    conversation = start_chat(business, customer)
    _reply(owner, conversation, "Olá!")
    side = _customer_side(conversation)

    def refuse(*_args, **_kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    # First failure: due again after the backoff, not lost, not sent
    assert not unread_email.send_unread_email(participant_id=side.pk)
    side.refresh_from_db()
    assert side.email_attempts == 1 and side.emailed_seq == 0
    expected = timezone.now() + datetime.timedelta(seconds=settings.CHAT_UNREAD_EMAIL_RETRY_BASE)
    assert abs(side.email_due_at - expected) < datetime.timedelta(seconds=30)
    # Second (last allowed) failure: given up, so the next reply schedules afresh
    Participant.objects.filter(pk=side.pk).update(email_due_at=timezone.now())
    assert not unread_email.send_unread_email(participant_id=side.pk)
    side.refresh_from_db()
    assert side.email_due_at is None and side.email_attempts == 0
    monkeypatch.undo()
    _reply(owner, conversation, "Ainda aí?")
    assert unread_email.send_due_unread_emails() == 1
    assert "Ainda aí?" in mail.outbox[0].body and "Olá!" in mail.outbox[0].body


@pytest.mark.django_db
def test_bad_ids_send_nothing(db):
    assert not unread_email.send_unread_email(participant_id="1")
    assert not unread_email.send_unread_email(participant_id=10**9)
