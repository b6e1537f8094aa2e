"""Celery entry points of insights; they call services (docs/outbox.md's table)."""

from celery import shared_task

from accounts.models import Business
from insights.services import rollups, touches


@shared_task(ignore_result=True)
def flush_touches() -> int:
    """The beat's flush of the buffered clicks (``TOUCH_FLUSH_INTERVAL``)."""
    return touches.flush()


@shared_task(ignore_result=True)
def refresh_rollups() -> int:
    """The beat's refresh of the reports' rollups (``ROLLUP_REFRESH_INTERVAL``)."""
    return rollups.refresh()


@shared_task(ignore_result=True)
def rebuild_rollups(business_id: int) -> int:
    """Rebuild one business's rollups (after its attribution window changed)."""
    business = Business.objects.filter(pk=business_id).first()
    return rollups.rebuild(business=business) if business is not None else 0
