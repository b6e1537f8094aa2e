"""Celery entry points of the payments app: each calls a service and is idempotent."""

from celery import shared_task

from payments.services import orders


@shared_task(acks_late=True)
def expire_orders() -> int:
    """Expire the pending orders past their expiry (beat: every minute)."""
    return orders.expire_orders()


@shared_task(acks_late=True)
def retry_pending_refunds() -> int:
    """Ask the gateway again, with the same keys, about refunds it did not answer
    (beat: every minute)."""
    from payments.services import refunds

    return refunds.retry_pending_refunds()
