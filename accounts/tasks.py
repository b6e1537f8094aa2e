from celery import shared_task

from accounts import services


@shared_task
def expire_invitations() -> int:
    """Beat job: delete invitations that ended more than 30 days ago."""
    return services.purge_stale_invitations()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_queued_email(email_id: int) -> bool:
    """Send one queued account e-mail (enqueued after the commit that queued it).
    Idempotent: the row is deleted once sent."""
    return services.send_queued_email(email_id=email_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_queued_emails() -> int:
    """Beat job: send the queued account e-mails whose task was lost."""
    return services.send_queued_emails()
