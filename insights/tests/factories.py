"""Insights helpers for tests: campaigns made through the services, and touches and
attributions written as helper A's recorder would (rows: recording is not under test
here)."""

import datetime

from django.utils import timezone

from insights.models import Campaign, OrderAttribution, Touch
from insights.services import campaigns


def make_campaign(owner, business, name="Summer sale", **kwargs) -> Campaign:
    kwargs.setdefault("channel", "instagram")
    return campaigns.create_campaign(actor=owner, business=business, name=name, **kwargs)


def make_automatic(business, key="newsletter/email/june", name="newsletter / email / june"):
    return Campaign.objects.create(
        business=business, name=name, code=f"auto-{abs(hash(key)) % 10**8:08d}",
        currency=business.currency, is_automatic=True, auto_key=key,
    )  # fmt: skip


def touch(campaign, kind=Touch.Kind.CLICK, *, at=None, **kwargs) -> Touch:
    return Touch.objects.create(
        business_id=campaign.business_id if campaign else kwargs.pop("business_id"),
        campaign=campaign,
        kind=kind,
        occurred_at=at or timezone.now(),
        **kwargs,
    )


def attribute(order, *, first=None, last=None, paid_at=None, fee=None) -> OrderAttribution:
    """The snapshot A's attribution writes when ``order`` is paid."""
    paid_at = paid_at or order.paid_at or timezone.now()
    # update_or_create: once the touches branch is in, paying an order writes its own.
    attribution, _created = OrderAttribution.objects.update_or_create(
        order=order,
        defaults={
            "business_id": order.business_id, "paid_at": paid_at, "window_days": 7,
            "currency": order.currency, "gross": order.total,
            "fee": order.total * 399 // 10000 if fee is None else fee,
            "conversation_id": order.conversation_id,
            "first_campaign": first, "last_campaign": last,
        },
    )  # fmt: skip
    return attribution


def days_ago(n: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)
