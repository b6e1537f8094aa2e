"""Celery entry points of the payments app: each calls a service and is idempotent."""

from celery import shared_task

from payments.idempotency import purge_idempotency_records
from payments.services import orders, webauthn


@shared_task(acks_late=True)
def expire_orders() -> int:
    """Expire the pending orders past their expiry (beat: every minute)."""
    return orders.expire_orders()


@shared_task(acks_late=True)
def purge_stale_records() -> dict:
    """Delete API idempotency records past their 24 hours and fingerprint challenges
    expired a day ago (beat: hourly)."""
    return {
        "idempotency_records": purge_idempotency_records(),
        "challenges": webauthn.purge_challenges(),
    }
