from celery import shared_task

from chats import services


@shared_task(acks_late=True)
def send_unread_email(participant_id: int) -> bool:
    """One e-mail about the unread replies in a conversation (idempotent)."""
    return services.send_unread_email(participant_id=participant_id)
