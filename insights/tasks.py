"""Celery entry points of insights; they call services (docs/outbox.md's table)."""

from celery import shared_task

from insights.services import touches


@shared_task(ignore_result=True)
def flush_touches() -> int:
    """The beat's flush of the buffered clicks (``TOUCH_FLUSH_INTERVAL``)."""
    return touches.flush()
