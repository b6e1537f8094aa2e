"""Celery entry points of webhooks: each calls a service and is idempotent (a
delivery is claimed before it is sent; docs/webhooks.md)."""

from celery import shared_task

from webhooks.services import delivery


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_endpoint(endpoint_id: int) -> int:
    return delivery.deliver_endpoint(endpoint_id=endpoint_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def dispatch_due_deliveries() -> int:
    return delivery.dispatch_due()


@shared_task(acks_late=True, ignore_result=True)
def purge_old_events() -> int:
    return delivery.purge_old_events()
