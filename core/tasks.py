"""Celery entry points of the shared infrastructure (idempotent)."""

from celery import shared_task

from core import mail


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_email(email_id: int) -> bool:
    """Send one queued e-mail (after the commit that queued it): only a shortcut,
    ``send_due_emails`` finds it if this is lost."""
    return mail.send_email(email_id=email_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_due_emails() -> int:
    """Beat (every ``MAIL_SWEEP_INTERVAL`` seconds): send the due queued e-mails."""
    return mail.send_due_emails()
