"""The Offers report: what each offer broadcast of a period led to (docs/insights.md,
"Reports").

The broadcasts of a period are those whose send time falls on one of its days (in
the business's time zone), newest first, a page at a time (``PAGE_SIZE``). Each one's
figures are its whole life, whenever they happened, read in a fixed number of
queries for the page whatever its size or the period's length:

- **sent**: its offers the outbox delivered (``chats.ScheduledMessage`` of kind
  ``offer`` and status sent, found by the broadcast's dedupe-key prefix);
- **delivered** / **read**: of those, the ones the customer's side has received /
  read (the customer's ``Participant.last_delivered_seq`` / ``last_read_seq`` reached
  the offer's message);
- **replied**: of those, the ones the customer answered — a customer message in that
  chat after the offer, within the attribution window of its sending;
- **opted out**: of those, the ones whose contact withdrew their consent to offers
  within the attribution window after the offer was sent (and has not given it again);
- **orders** and **net revenue** credited: the paid orders whose attribution credits
  the broadcast's campaign under **last touch** (an offer is a touch of its
  broadcast's campaign: docs/insights.md, "Attribution"), net = gross − fee − refunds;
- **cost**: the campaign's (its one total, or the sum of all its spend lines);
  **ROI** = (net − cost) / cost, None without a cost.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from operator import or_

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Sum,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from accounts.models import Business
from chats.models import Message, Participant, ScheduledMessage
from insights.charts import Chart, Series
from insights.models import Campaign, OrderAttribution, SpendLine
from insights.reports.common import Cell, Table, percent
from insights.selectors import attribution_window
from marketing.models import Broadcast
from payments.models import Refund

PAGE_SIZE = 25
MAX_PAGE = 10_000


@dataclass
class OfferRow:
    broadcast: Broadcast
    campaign: Campaign | None
    recipients: int = 0
    sent: int = 0
    delivered: int = 0
    read: int = 0
    replied: int = 0
    opted_out: int = 0
    orders: int = 0
    gross: int = 0
    fee: int = 0
    refunds: int = 0
    cost: int = 0

    @property
    def net(self) -> int:
        return self.gross - self.fee - self.refunds

    @property
    def roi(self) -> Decimal | None:
        """(net − cost) / cost in percent; None without a cost."""
        return percent(self.net - self.cost, self.cost) if self.cost else None

    @property
    def read_rate(self) -> Decimal | None:
        return percent(self.read, self.sent)

    @property
    def reply_rate(self) -> Decimal | None:
        return percent(self.replied, self.sent)


@dataclass
class OffersPage:
    rows: list[OfferRow]
    page: int
    has_next: bool
    window_days: int


def parse_page(value) -> int:
    """A page number from a query (1 when unreadable, at most ``MAX_PAGE``)."""
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        return 1
    return min(max(int(text), 1), MAX_PAGE)


def list_broadcasts(*, business: Business, period, page: int = 1, size: int | None = None):
    """The business's broadcasts sent (to be sent) on the period's days, newest first:
    one page of ``size`` plus one (to tell whether there is a next page)."""
    size = size or PAGE_SIZE
    offset = (page - 1) * size
    return list(
        Broadcast.objects.filter(
            business=business, send_at__gte=period.start, send_at__lt=period.end
        )
        .select_related("campaign")
        .order_by("-send_at", "-id")[offset : offset + size + 1]
    )


def _delivery(business: Business, broadcasts: list[Broadcast], window_days: int) -> dict:
    """{broadcast id: {sent, delivered, read, replied, opted_out}}; one query."""
    if not broadcasts:
        return {}
    window = ExpressionWrapper(
        Value(datetime.timedelta(days=window_days)), output_field=DurationField()
    )
    customer_side = Participant.objects.filter(
        conversation=OuterRef("conversation"), business__isnull=True, user__isnull=False
    )
    delivered = Q(last_delivered_seq__gte=OuterRef("message__seq"))
    read = Q(last_read_seq__gte=OuterRef("message__seq"))
    replies = Message.objects.filter(
        conversation=OuterRef("conversation"),
        seq__gt=OuterRef("message__seq"),
        sender__user__isnull=False,
        created_at__lte=OuterRef("sent_at") + window,
    )
    opted_out = Q(
        conversation__contact__offers_consent_at__isnull=True,
        conversation__contact__offers_opt_out_at__gt=F("sent_at"),
        conversation__contact__offers_opt_out_at__lte=F("sent_at") + window,
    )
    prefixes = reduce(or_, (Q(dedupe_key__startswith=b.key_prefix) for b in broadcasts))
    rows = (
        ScheduledMessage.objects.filter(
            prefixes,
            kind="offer",
            status=ScheduledMessage.Status.SENT,
            conversation__business=business,
        )
        .annotate(
            broadcast=Cast(KeyTextTransform("broadcast_id", "payload"), IntegerField()),
        )
        .values("broadcast")
        .annotate(
            sent=Count("pk"),
            delivered=Count("pk", filter=Exists(customer_side.filter(delivered))),
            read=Count("pk", filter=Exists(customer_side.filter(read))),
            replied=Count("pk", filter=Exists(replies)),
            opted_out=Count("pk", filter=opted_out),
        )
        .order_by()
    )
    return {row["broadcast"]: row for row in rows}


def _credited(business: Business, campaign_ids: list[int]) -> dict[int, dict]:
    """{campaign id: {orders, gross, fee, refunds}} credited under last touch, all
    time; two queries."""
    out: dict[int, dict] = {}
    if not campaign_ids:
        return out
    attributions = OrderAttribution.objects.filter(
        business=business, last_campaign__in=campaign_ids
    )
    for row in (
        attributions.values("last_campaign")
        .annotate(orders=Count("pk"), gross=Sum("gross"), fee=Sum("fee"))
        .order_by()
    ):
        out[row["last_campaign"]] = {
            "orders": row["orders"], "gross": row["gross"], "fee": row["fee"], "refunds": 0
        }  # fmt: skip
    for row in (
        Refund.objects.filter(status=Refund.Status.SUCCEEDED, order__attribution__in=attributions)
        .values("order__attribution__last_campaign")
        .annotate(amount=Sum("amount"), fee=Sum("fee"))
        .order_by()
    ):
        key = row["order__attribution__last_campaign"]
        out.setdefault(key, {"orders": 0, "gross": 0, "fee": 0, "refunds": 0})
        out[key]["refunds"] = row["amount"] - row["fee"]
    return out


def _costs(campaigns: list[Campaign]) -> dict[int, int]:
    """{campaign id: its whole cost}; one query (daily spend lines summed)."""
    daily = [c.pk for c in campaigns if c.cost_mode == Campaign.CostMode.DAILY]
    spent = (
        dict(
            SpendLine.objects.filter(campaign__in=daily)
            .values("campaign")
            .annotate(total=Sum("amount"))
            .order_by()
            .values_list("campaign", "total")
        )
        if daily
        else {}
    )
    return {
        c.pk: spent.get(c.pk, 0) if c.cost_mode == Campaign.CostMode.DAILY else c.total_cost
        for c in campaigns
    }


def _campaign(broadcast: Broadcast) -> Campaign | None:
    try:
        return broadcast.campaign
    except Campaign.DoesNotExist:
        return None


def offers_report(
    *, business: Business, period, page: int = 1, size: int | None = None
) -> OffersPage:
    """One page of the period's broadcasts with their figures; six queries at most,
    whatever the page size and the period."""
    size = size or PAGE_SIZE
    window_days = attribution_window(business=business)
    found = list_broadcasts(business=business, period=period, page=page, size=size)
    has_next = len(found) > size
    found = found[:size]
    delivery = _delivery(business, found, window_days)
    campaigns = [c for c in map(_campaign, found) if c is not None]
    credited = _credited(business, [c.pk for c in campaigns])
    costs = _costs(campaigns)
    rows = []
    for broadcast in found:
        campaign = _campaign(broadcast)
        d = delivery.get(broadcast.pk, {})
        money = credited.get(campaign.pk, {}) if campaign else {}
        rows.append(
            OfferRow(
                broadcast=broadcast, campaign=campaign, recipients=broadcast.recipients,
                sent=d.get("sent", 0), delivered=d.get("delivered", 0), read=d.get("read", 0),
                replied=d.get("replied", 0), opted_out=d.get("opted_out", 0),
                orders=money.get("orders", 0), gross=money.get("gross", 0),
                fee=money.get("fee", 0), refunds=money.get("refunds", 0),
                cost=costs.get(campaign.pk, 0) if campaign else 0,
            )
        )  # fmt: skip
    return OffersPage(rows=rows, page=page, has_next=has_next, window_days=window_days)


# --- The page ---------------------------------------------------------------------------


def offers_table(business: Business, rows: list[OfferRow], *, link=None) -> Table:
    """The broadcasts' table (the page's, and each step of the CSV). ``link(row)``: the
    URLs of a row's broadcast and of its credited orders (the campaign page)."""
    currency, tz = business.currency, business.tz
    table = Table(
        "offers", _("Offer broadcasts"),
        [_("Sent at"), _("Message"), _("Recipients"), _("Sent"), _("Delivered"), _("Read"),
         _("Replied"), _("Opted out"), _("Orders"), _("Net revenue"), _("Cost"), _("ROI")],
        empty=_("No broadcast was sent in this period."),
    )  # fmt: skip
    for row in rows:
        broadcast_url, orders_url = link(row) if link else (None, None)
        table.rows.append([
            Cell(row.broadcast.send_at.astimezone(tz), "datetime", broadcast_url),
            Cell(Truncator(" ".join(row.broadcast.text.split())).chars(80), "text"),
            Cell(row.recipients), Cell(row.sent), Cell(row.delivered), Cell(row.read),
            Cell(row.replied), Cell(row.opted_out), Cell(row.orders, link=orders_url),
            Cell(row.net, "money", currency=currency), Cell(row.cost, "money", currency=currency),
            Cell(row.roi, "percent"),
        ])  # fmt: skip
    return table


def offers_chart(business: Business, table: Table) -> Chart:
    """Net revenue and cost of the page's broadcasts, oldest first."""
    rows = list(reversed(table.rows))
    return Chart(
        id="offers-revenue", kind="bar", title=_("Net revenue and cost by broadcast"),
        label_header=_("Sent at"), labels=[row[0].text for row in rows],
        currency=business.currency,
        series=[
            Series(name=_("Net revenue"), values=[row[9].value for row in rows],
                   links=[row[8].link for row in rows], format="money"),
            Series(name=_("Cost"), values=[row[10].value for row in rows], format="money"),
        ],
    )  # fmt: skip


def all_offer_rows(business: Business, period, *, size: int = 200) -> Iterator[list]:
    """Every broadcast of the period as CSV rows, read ``size`` at a time."""
    page = 1
    while True:
        found = offers_report(business=business, period=period, page=page, size=size)
        yield from offers_table(business, found.rows).csv_rows()
        if not found.has_next:
            return
        page += 1
