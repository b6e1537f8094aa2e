"""Queued e-mails (core.mail): a row in the cause's transaction, sent once by the task
or the beat's sweep, whatever is lost in between (docs/outbox.md)."""

import smtplib

import pytest
from django.core import mail as django_mail
from django.db import transaction
from django.utils import timezone

from core import mail
from core.models import OutgoingEmail

pytestmark = pytest.mark.django_db
STATUS = OutgoingEmail.Status


def _queue(key="test:1"):
    return mail.queue_email(to="carla@example.com", subject="Oi", body="Olá", dedupe_key=key)


def test_a_rolled_back_cause_queues_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        _queue()
        raise RuntimeError
    assert not OutgoingEmail.objects.exists()


def test_a_lost_task_is_sent_by_the_sweep_once(django_capture_on_commit_callbacks):
    # Given a queued e-mail whose task never runs
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = _queue()
    assert len(callbacks) == 1
    # When the sweep runs twice, and the task comes late
    assert mail.send_due_emails() == 1
    assert mail.send_due_emails() == 0
    assert not mail.send_email(email_id=row.pk)
    # Then one e-mail
    (sent,) = django_mail.outbox
    assert sent.to == ["carla@example.com"] and sent.body == "Olá"
    assert sent.extra_headers["Message-ID"].startswith(f"<mail.{row.pk}@")
    row.refresh_from_db()
    assert row.status == STATUS.SENT and row.sent_at is not None


def test_the_same_key_queues_once():
    assert _queue().pk == _queue().pk
    assert OutgoingEmail.objects.count() == 1


def test_a_sender_that_died_after_claiming_leaves_it_due_after_its_lease():
    row = _queue()
    assert mail._claim(row.pk) is not None  # then the sender dies
    assert mail._claim(row.pk) is None  # held: a second sender keeps off
    assert mail.send_due_emails() == 0
    OutgoingEmail.objects.filter(pk=row.pk).update(due_at=timezone.now())  # lease over
    assert mail.send_due_emails() == 1
    assert len(django_mail.outbox) == 1


def test_a_failing_mail_server_is_retried_then_failed(settings, monkeypatch):
    settings.MAIL_MAX_ATTEMPTS = 2

    def refuse(*_args, **_kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    row = _queue()
    assert not mail.send_email(email_id=row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (STATUS.PENDING, 1)
    assert row.due_at > timezone.now() and "gone" in row.last_error
    OutgoingEmail.objects.filter(pk=row.pk).update(due_at=timezone.now())
    assert not mail.send_email(email_id=row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (STATUS.FAILED, 2)
    assert mail.send_due_emails() == 0


def test_bad_ids_send_nothing():
    assert not mail.send_email(email_id="1")
    assert not mail.send_email(email_id=10**9)
