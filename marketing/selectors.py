"""Reads of the marketing app, scoped to a business the caller was authorized for
(``accounts.selectors.get_business_for``): another business's rule or broadcast is
"not found", like a missing one."""

from django.db.models import Count

from accounts.models import Business
from chats.models import ScheduledMessage
from core.ids import get_by_id_or_404
from marketing.models import Broadcast, FollowUpRule, SatisfactionRating


def list_rules(*, business: Business):
    return FollowUpRule.objects.filter(business=business)


def get_rule_for(*, business: Business, rule_id) -> FollowUpRule:
    return get_by_id_or_404(list_rules(business=business), rule_id)


def list_broadcasts(*, business: Business):
    return Broadcast.objects.filter(business=business)


def get_broadcast_for(*, business: Business, broadcast_id) -> Broadcast:
    return get_by_id_or_404(list_broadcasts(business=business), broadcast_id)


def broadcast_progress(broadcast: Broadcast) -> dict:
    """``{"total", "sent", "failed", "skipped", "pending", "done", "percent"}`` from the
    broadcast's outbox rows (skipped: canceled, e.g. the contact opted out meanwhile).
    One query."""
    counts = dict(
        ScheduledMessage.objects.filter(dedupe_key__startswith=broadcast.key_prefix, kind="offer")
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    status = ScheduledMessage.Status
    sent, failed = counts.get(status.SENT, 0), counts.get(status.FAILED, 0)
    skipped, pending = counts.get(status.CANCELED, 0), counts.get(status.SCHEDULED, 0)
    total = sent + failed + skipped + pending
    finished = sent + failed + skipped
    return {
        "total": total,
        "sent": sent,
        "failed": failed,
        "skipped": skipped,
        "pending": pending,
        "finished": finished,
        "done": pending == 0,
        "percent": round(100 * finished / total) if total else 100,
    }


def list_ratings(*, business: Business, score: int | None = None):
    """The business's satisfaction ratings, newest first, with their orders."""
    ratings = SatisfactionRating.objects.filter(business=business).select_related("order")
    if score is not None:
        ratings = ratings.filter(score=score)
    return ratings.order_by("-pk")


def rating_summary(*, business: Business) -> dict:
    rows = dict(
        SatisfactionRating.objects.filter(business=business)
        .values_list("score")
        .annotate(n=Count("id"))
        .values_list("score", "n")
    )
    total = sum(rows.values())
    average = sum(s * n for s, n in rows.items()) / total if total else None
    return {
        "count": total,
        "average": average,
        "by_score": [(s, rows.get(s, 0)) for s in range(5, 0, -1)],
    }
