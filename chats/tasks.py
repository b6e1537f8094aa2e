"""Celery entry points of the chats app: each loads by id, calls a service and is
idempotent. Acknowledged late and rejected (so redelivered) when the worker dies:
the services' row locks make a second run harmless."""

from celery import shared_task

from chats.services import outbox, unread_email


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_unread_email(participant_id: int) -> bool:
    """The unread-replies e-mail of one customer, when due (enqueued after the
    commit with the delay as countdown). Only a shortcut: the row's ``email_due_at``
    is the truth, and ``send_due_unread_emails`` sends it if this is lost."""
    return unread_email.send_unread_email(participant_id=participant_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_unread_emails(participant_ids: list[int]) -> int:
    """The same for a batch of customers (a broadcast's); how many went out."""
    return sum(unread_email.send_unread_email(participant_id=pk) for pk in participant_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_due_unread_emails() -> int:
    """Beat (every ``CHAT_UNREAD_EMAIL_SWEEP_INTERVAL`` seconds): send the due
    unread-replies e-mails whose task was lost, or not sent yet."""
    return unread_email.send_due_unread_emails()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_scheduled_message(scheduled_id: int) -> bool:
    """Send one outbox row now (enqueued after the commit that scheduled it)."""
    return outbox.send_scheduled(scheduled_id=scheduled_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def dispatch_scheduled_messages() -> int:
    """Send the due outbox rows (beat: every ``OUTBOX_DISPATCH_INTERVAL`` seconds).
    A full batch enqueues the next one at once, so a backlog drains without waiting
    for the beat."""
    from django.conf import settings

    claimed = outbox.send_due()
    if claimed >= settings.OUTBOX_BATCH:
        dispatch_scheduled_messages.delay()
    return claimed
