"""Celery entry points of the payments app: each calls a service and is idempotent."""

from celery import shared_task

from payments.idempotency import purge_idempotency_records
from payments.services import (
    destinations,
    orders,
    payouts,
    pix,
    reconciliation,
    recovery,
    refunds,
    webauthn,
)


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


@shared_task(acks_late=True)
def run_payouts() -> int:
    """Pay out every business's available balance (beat: ``run-payouts``). Returns how
    many payouts were created."""
    return sum(1 for run in payouts.run_payouts() if run.payout is not None)


@shared_task(acks_late=True)
def process_payout(payout_id: int) -> str:
    """Ask the bank for the payout's transfer and settle it once decided."""
    return payouts.process_payout(payout_id=payout_id)


@shared_task(acks_late=True)
def send_destination_email(destination_id: int, action: str, actor_id: int | None) -> int:
    """Left for messages enqueued before the upgrade: destination e-mails are now
    queued as rows in the change's transaction (core.mail); this queues them."""
    return destinations.send_destination_email(
        destination_id=destination_id, action=action, actor_id=actor_id
    )


@shared_task(acks_late=True)
def reconcile() -> int:
    """Run every reconciliation check (beat: nightly). Returns the discrepancy count."""
    return reconciliation.run_reconciliation().discrepancy_count


@shared_task(acks_late=True)
def retry_pending_refunds() -> int:
    """Ask the gateway again, with the same keys, about refunds it did not answer
    (beat: every minute)."""
    return refunds.retry_pending_refunds()


@shared_task(acks_late=True)
def recover_stranded_money() -> dict:
    """Settle what a dead process left half done (beat: every minute): payments pending
    past ``PAYMENT_RECOVERY_GRACE`` (asked at the gateway by their key) and payouts
    whose bank confirmation is overdue. docs/payments.md, "Recovery"."""
    return {
        "payments_settled": recovery.recover_payments(),
        "payouts_checked": payouts.process_overdue_payouts(),
    }


@shared_task(acks_late=True)
def sweep_pix() -> dict:
    """Collected Pix upkeep (beat: every minute): cancel at the provider the charges
    past their expiry, and ask again about anomalies' returns not yet decided."""
    return {
        "charges_expired": pix.expire_charges(),
        "returns_settled": pix.retry_anomaly_refunds(),
    }


@shared_task(acks_late=True, autoretry_for=(Exception,), max_retries=5, retry_backoff=5)
def deliver_sandbox_pix(pix_id: int, callback_base: str) -> int:
    """The sandbox provider posts a paid Pix to our callback (what a PSP does), unless
    the sandbox bank's immediate delivery already did. Retried with back-off."""
    from payments.pix import sandbox

    status = sandbox.deliver(pix_id=pix_id, callback_base=callback_base)
    if not 200 <= status < 300:
        raise RuntimeError(f"callback answered {status}")
    return status
