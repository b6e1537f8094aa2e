"""Reads of a business's webhooks, scoped to a business the caller fetched with
``accounts.selectors.get_business_for`` (owners and admins): another business's
endpoint or delivery is "not found"."""

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Business
from core.ids import parse_int
from webhooks.models import Attempt, Delivery, Endpoint

PAGE = 50


def list_endpoints(*, business: Business) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(business=business).order_by("created_at", "pk")


def get_endpoint_for(*, business: Business, endpoint_id) -> Endpoint:
    pk = parse_int(endpoint_id, minimum=1)
    endpoint = (
        Endpoint.objects.select_related("business").filter(pk=pk, business=business).first()
        if pk is not None
        else None
    )
    if endpoint is None:
        raise Http404
    return endpoint


def list_deliveries(
    *, endpoint: Endpoint, event_type: str = "", failed: bool = False
) -> QuerySet[Delivery]:
    """The endpoint's deliveries, newest first; ``failed``: those that gave up or whose
    last attempt failed."""
    rows = Delivery.objects.filter(endpoint=endpoint).select_related("event")
    if event_type:
        rows = rows.filter(event__type=event_type)
    if failed:
        rows = rows.filter(status=Delivery.Status.FAILED) | rows.filter(
            status=Delivery.Status.PENDING, attempts__gt=0
        )
    return rows.order_by("-pk")


def get_delivery_for(*, endpoint: Endpoint, delivery_id) -> Delivery:
    pk = parse_int(delivery_id, minimum=1)
    row = (
        Delivery.objects.select_related("event", "endpoint__business")
        .filter(pk=pk, endpoint=endpoint)
        .first()
        if pk is not None
        else None
    )
    if row is None:
        raise Http404
    return row


def list_attempts(*, deliveries: list[Delivery]) -> dict[int, list[Attempt]]:
    """The attempts of ``deliveries`` by delivery id, newest first (one query)."""
    found: dict[int, list[Attempt]] = {d.pk: [] for d in deliveries}
    for attempt in Attempt.objects.filter(delivery__in=[d.pk for d in deliveries]).order_by("-pk"):
        found[attempt.delivery_id].append(attempt)
    return found
