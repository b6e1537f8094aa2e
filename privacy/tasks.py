"""Celery entry points of the privacy app (docs/outbox.md lists every task)."""

from celery import shared_task

from privacy.services import exports, retention


@shared_task(acks_late=True)
def build_export(request_id: int) -> bool:
    return exports.build_export(request_id=request_id) is not None


@shared_task
def expire_exports() -> int:
    return exports.expire_exports()


@shared_task
def apply_retention() -> int:
    return retention.apply_retention()
