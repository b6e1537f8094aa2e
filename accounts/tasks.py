from celery import shared_task

from accounts import services


@shared_task
def expire_invitations() -> int:
    """Beat job: delete invitations that ended more than 30 days ago."""
    return services.purge_stale_invitations()
