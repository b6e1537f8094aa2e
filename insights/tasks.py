"""Celery entry points of insights; they call services (docs/outbox.md's table)."""

from celery import shared_task

from insights.services import rollups, touches


@shared_task(ignore_result=True)
def flush_touches() -> int:
    """The beat's flush of the buffered clicks (``TOUCH_FLUSH_INTERVAL``)."""
    return touches.flush()


@shared_task(ignore_result=True)
def refresh_rollups() -> int:
    """The beat's refresh of the reports' rollups (``ROLLUP_REFRESH_INTERVAL``)."""
    return rollups.refresh()
