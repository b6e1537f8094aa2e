"""Celery entry points of the payments app: each calls a service and is idempotent."""

from celery import shared_task

from payments.services import orders


@shared_task(acks_late=True)
def expire_orders() -> int:
    """Expire the pending orders past their expiry (beat: every minute)."""
    return orders.expire_orders()
