"""Reads of campaigns and their figures, scoped to one business (docs/insights.md).

A period is a range of days in the business's time zone, turned into aware datetimes
``[start, end)``. The figures of a campaign for a period and a model ("first" or
"last" touch):

- clicks, conversations: its touches of that kind in the period; unique visitors: the
  distinct visitor hashes of its touches (a hash changes every day, so a visitor
  coming back the next day counts again), plus the distinct contacts of touches
  without one;
- payment requests: orders created in the period in conversations that have a
  conversation touch of the campaign (at any time);
- paid orders, gross and fee: the orders whose attribution credits the campaign under
  the model and that were paid in the period; refunds: the succeeded refunds of those
  orders, each ``amount − fee`` (the part of the fee given back returns to the
  merchant, so a refund costs the merchant what the ledger debits: docs/payments.md,
  "Refunds"), whenever they happened — a refund reduces the revenue of the period
  its order was paid in, so a period's figures do not change sign when one is read
  later; net = gross − fee − refunds;
- cost: with one total, the whole total when the campaign's dates overlap the period
  (no dates: always) — a total is not spread over days; with daily spend, the sum of
  the spend lines of the days in the period;
- cost per conversation and per purchase (minor units, rounded half up), ROAS =
  (gross − refunds) / cost and ROI = (net − cost) / cost as Decimals; None when there
  is no cost (or nothing to divide by).

Money is integer minor units of the business's currency (a campaign's and its orders'
currency are the business's); never summed across currencies.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Business, Membership
from core.ids import get_by_id_or_404, parse_int
from core.money import per
from insights.models import AttributionSettings, Campaign, OrderAttribution, SpendLine, Touch
from payments.models import Order, Refund

Model = Literal["first", "last"]
MODELS = ("first", "last")
PRESETS = (7, 28, 90)
DEFAULT_DAYS = 28
REPEAT_DAYS = 90
MAX_PERIOD_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    """Days ``first`` to ``last`` (both included) in ``tz``."""

    first: datetime.date
    last: datetime.date
    tz: Any

    @property
    def start(self) -> datetime.datetime:
        return datetime.datetime.combine(self.first, datetime.time(), tzinfo=self.tz)

    @property
    def end(self) -> datetime.datetime:
        return datetime.datetime.combine(
            self.last + datetime.timedelta(days=1), datetime.time(), tzinfo=self.tz
        )

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def last_days(business: Business, days: int = DEFAULT_DAYS, *, today=None) -> Period:
    """The last ``days`` days up to today (included), in the business's time zone."""
    today = today or timezone.now().astimezone(business.tz).date()
    return Period(today - datetime.timedelta(days=days - 1), today, business.tz)


def period_from(business: Business, params) -> tuple[Period, str]:
    """The period a page's query asks for (``days=7|28|90`` or ``from``/``to`` dates),
    and the preset it is ("7", "28", "90" or "custom"). Anything unreadable is the
    default, the last 28 days."""
    days = parse_int(params.get("days"))
    if days in PRESETS:
        return last_days(business, days), str(days)
    try:
        first = datetime.date.fromisoformat(str(params.get("from", ""))[:10])
        last = datetime.date.fromisoformat(str(params.get("to", ""))[:10])
    except ValueError:
        return last_days(business), str(DEFAULT_DAYS)
    if last < first:
        first, last = last, first
    if (last - first).days >= MAX_PERIOD_DAYS:
        first = last - datetime.timedelta(days=MAX_PERIOD_DAYS - 1)
    if first.year < 2000 or last.year > 2100:
        return last_days(business), str(DEFAULT_DAYS)
    return Period(first, last, business.tz), "custom"


def model_from(params) -> Model:
    return "first" if params.get("model") == "first" else "last"


# --- Campaigns --------------------------------------------------------------------------


def list_campaigns(*, business: Business, archived: bool = False) -> QuerySet[Campaign]:
    """The business's campaigns, the archived ones or the others; merged automatic
    campaigns are neither (their figures moved to the campaign they went into)."""
    return Campaign.objects.filter(
        business=business, archived_at__isnull=not archived, merged_into__isnull=True
    ).order_by("is_automatic", "-created_at", "-id")


def merge_targets(*, business: Business) -> QuerySet[Campaign]:
    return Campaign.objects.filter(business=business, is_automatic=False).order_by("name")


def get_campaign_for(*, business: Business, campaign_id: Any) -> Campaign:
    """One of ``business``'s campaigns; another business's, or none, is "not found"."""
    campaign = get_by_id_or_404(Campaign.objects.filter(business=business), campaign_id)
    campaign.business = business
    return campaign


def sees_money(business: Business) -> bool:
    """Whether the acting member (``business.membership``, set by ``get_business_for``)
    sees the campaigns' money: owners and admins do; agents see the counts only."""
    return business.membership.has_role(Membership.Role.ADMIN)


def attribution_window(*, business: Business) -> int:
    row = AttributionSettings.objects.filter(business=business).first()
    return row.window_days if row else AttributionSettings.DEFAULT_WINDOW


def get_spend_line(*, campaign: Campaign, line_id: Any) -> SpendLine:
    line = get_by_id_or_404(SpendLine.objects.filter(campaign=campaign), line_id)
    line.campaign = campaign
    return line


def list_spend_lines(*, campaign: Campaign) -> QuerySet[SpendLine]:
    return campaign.spend_lines.order_by("-day")


# --- Figures ----------------------------------------------------------------------------


@dataclass
class Figures:
    campaign_id: int | None
    currency: str
    clicks: int = 0
    visitors: int = 0
    conversations: int = 0
    payment_requests: int = 0
    paid: int = 0
    gross: int = 0
    fee: int = 0
    refunds: int = 0
    cost: int = 0
    repeat: int = 0  # paid orders whose customer bought again within 90 days (the page)

    @property
    def net(self) -> int:
        return self.gross - self.fee - self.refunds

    @property
    def cost_per_conversation(self) -> int | None:
        return _per(self.cost, self.conversations)

    @property
    def cost_per_purchase(self) -> int | None:
        return _per(self.cost, self.paid)

    @property
    def roas(self) -> Decimal | None:
        return _ratio(self.gross - self.refunds, self.cost)

    @property
    def roi(self) -> Decimal | None:
        return _ratio(self.net - self.cost, self.cost)

    @property
    def roi_percent(self) -> Decimal | None:
        return None if self.roi is None else (self.roi * 100).quantize(Decimal("0.1"))


def _per(amount: int, count: int) -> int | None:
    """A cost per something; None without a cost (nothing was spent: no cost per)."""
    return per(amount, count) if amount else None


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _campaign_field(model: Model) -> str:
    return "first_campaign" if model == "first" else "last_campaign"


def _touch_figures(business: Business, period: Period, ids) -> dict[int, dict]:
    return {
        row["campaign"]: row
        for row in Touch.objects.filter(
            business=business, campaign__in=ids,
            occurred_at__gte=period.start, occurred_at__lt=period.end,
        )
        .values("campaign")
        .annotate(
            clicks=Count("pk", filter=Q(kind=Touch.Kind.CLICK)),
            conversations=Count("pk", filter=Q(kind=Touch.Kind.CONVERSATION)),
            hashes=Count("visitor", distinct=True, filter=~Q(visitor="")),
            contacts=Count("contact", distinct=True, filter=Q(visitor="")),
        )
        .order_by()
    }  # fmt: skip


def _payment_requests(business: Business, period: Period, ids) -> dict[int, int]:
    rows = (
        Touch.objects.filter(
            business=business, campaign__in=ids, kind=Touch.Kind.CONVERSATION,
            conversation__orders__created_at__gte=period.start,
            conversation__orders__created_at__lt=period.end,
        )
        .values("campaign")
        .annotate(n=Count("conversation__orders", distinct=True))
        .order_by()
    )  # fmt: skip
    return {row["campaign"]: row["n"] for row in rows}


def _paid_figures(business: Business, start, end, model: Model, ids=None) -> dict:
    """{campaign id or None (direct): {paid, gross, fee, refunds}} for the orders paid
    in [start, end) (None: no bound), credited under ``model``; two queries."""
    key = _campaign_field(model)
    attributions = OrderAttribution.objects.filter(business=business)
    if start is not None:
        attributions = attributions.filter(paid_at__gte=start)
    if end is not None:
        attributions = attributions.filter(paid_at__lt=end)
    if ids is not None:
        attributions = attributions.filter(**{f"{key}__in": ids})
    out: dict = defaultdict(lambda: {"paid": 0, "gross": 0, "fee": 0, "refunds": 0})
    for row in (
        attributions.values(key)
        .annotate(paid=Count("pk"), gross=Sum("gross"), fee=Sum("fee"))
        .order_by()
    ):
        out[row[key]].update(paid=row["paid"], gross=row["gross"], fee=row["fee"])
    refunds = Refund.objects.filter(
        status=Refund.Status.SUCCEEDED, order__attribution__in=attributions
    )
    for row in (
        refunds.values(f"order__attribution__{key}")
        .annotate(amount=Sum("amount"), fee=Sum("fee"))
        .order_by()
    ):
        out[row[f"order__attribution__{key}"]]["refunds"] = row["amount"] - row["fee"]
    return out


def _costs(business: Business, period: Period, campaigns) -> dict[int, int]:
    daily = {
        row["campaign"]: row["total"]
        for row in SpendLine.objects.filter(
            campaign__business=business, campaign__in=[c.pk for c in campaigns],
            day__gte=period.first, day__lte=period.last,
        )
        .values("campaign")
        .annotate(total=Sum("amount"))
        .order_by()
    }  # fmt: skip
    costs = {}
    for campaign in campaigns:
        if campaign.cost_mode == Campaign.CostMode.DAILY:
            costs[campaign.pk] = daily.get(campaign.pk, 0)
        elif (campaign.starts_on is None or campaign.starts_on <= period.last) and (
            campaign.ends_on is None or campaign.ends_on >= period.first
        ):
            costs[campaign.pk] = campaign.total_cost
        else:
            costs[campaign.pk] = 0
    return costs


def campaign_figures(
    *, business: Business, campaigns: list[Campaign], period: Period, model: Model
) -> dict[int, Figures]:
    """The figures of each of ``campaigns`` (the business's) for ``period`` under
    ``model``: five queries whatever their number."""
    ids = [c.pk for c in campaigns]
    if not ids:
        return {}
    touches = _touch_figures(business, period, ids)
    requests = _payment_requests(business, period, ids)
    paid = _paid_figures(business, period.start, period.end, model, ids)
    costs = _costs(business, period, campaigns)
    out = {}
    for pk in ids:
        t = touches.get(pk, {})
        p = paid.get(pk, {})
        out[pk] = Figures(
            campaign_id=pk, currency=business.currency,
            clicks=t.get("clicks", 0), conversations=t.get("conversations", 0),
            visitors=t.get("hashes", 0) + t.get("contacts", 0),
            payment_requests=requests.get(pk, 0),
            paid=p.get("paid", 0), gross=p.get("gross", 0), fee=p.get("fee", 0),
            refunds=p.get("refunds", 0), cost=costs[pk],
        )  # fmt: skip
    return out


@dataclass
class Revenue:
    """Money credited to one campaign (or to "direct"), in minor units of the
    business's currency."""

    orders: int = 0
    gross: int = 0
    fee: int = 0
    refunds: int = 0  # what refunds took back from the merchant: amount − fee given back

    @property
    def net(self) -> int:
        return self.gross - self.fee - self.refunds


def credited_revenue(
    *,
    business: Business,
    model: Model,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
) -> dict[int | None, Revenue]:
    """{campaign id, or None for direct: its :class:`Revenue`} of the orders paid in
    [start, end) (no bound: all time), credited under ``model``. Over all keys the
    net sums to the net revenue of every attributed order paid then. Two queries."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, not {model!r}")
    return {
        key: Revenue(orders=row["paid"], gross=row["gross"], fee=row["fee"], refunds=row["refunds"])
        for key, row in _paid_figures(business, start, end, model).items()
    }


# --- One campaign -----------------------------------------------------------------------


@dataclass
class Step:
    label: str
    count: int
    drop: Decimal | None = None  # % lost from the step before


@dataclass
class CampaignPage:
    figures: Figures
    funnel: list[Step] = field(default_factory=list)


def _repeat_buyers(business: Business, period: Period, model: Model, campaign: Campaign) -> int:
    later = Order.objects.filter(
        business=business,
        customer=OuterRef("order__customer"),
        paid_at__gt=OuterRef("paid_at"),
        paid_at__lte=OuterRef("paid_at") + datetime.timedelta(days=REPEAT_DAYS),
    ).exclude(pk=OuterRef("order"))
    return (
        OrderAttribution.objects.filter(
            business=business, paid_at__gte=period.start, paid_at__lt=period.end,
            **{_campaign_field(model): campaign},
        )
        .filter(Exists(later))
        .count()
    )  # fmt: skip


def funnel(figures: Figures, labels: list[str]) -> list[Step]:
    counts = [
        figures.clicks, figures.conversations, figures.payment_requests, figures.paid,
        figures.repeat,
    ]  # fmt: skip
    steps = []
    for index, (label, count) in enumerate(zip(labels, counts, strict=True)):
        drop = None
        if index and counts[index - 1]:
            before = counts[index - 1]
            drop = (Decimal(max(before - count, 0)) * 100 / before).quantize(Decimal("1"))
        steps.append(Step(label, count, drop))
    return steps


def campaign_detail(
    *, business: Business, campaign: Campaign, period: Period, model: Model
) -> Figures:
    figures = campaign_figures(business=business, campaigns=[campaign], period=period, model=model)
    result = figures[campaign.pk]
    result.repeat = _repeat_buyers(business, period, model, campaign)
    return result


def list_campaign_conversations(
    *, business: Business, campaign: Campaign, period: Period, limit: int = 50
) -> QuerySet[Touch]:
    """The conversations the campaign started in the period (their touches, newest
    first, with the conversation and its customer)."""
    return (
        Touch.objects.filter(
            business=business, campaign=campaign, kind=Touch.Kind.CONVERSATION,
            conversation__isnull=False,
            occurred_at__gte=period.start, occurred_at__lt=period.end,
        )
        .select_related("conversation__contact__user")
        .order_by("-occurred_at")[:limit]
    )  # fmt: skip


def list_campaign_orders(
    *, business: Business, campaign: Campaign, period: Period, model: Model, limit: int = 50
) -> QuerySet[OrderAttribution]:
    return (
        OrderAttribution.objects.filter(
            business=business, paid_at__gte=period.start, paid_at__lt=period.end,
            **{_campaign_field(model): campaign},
        )
        .select_related("order__customer")
        .order_by("-paid_at")[:limit]
    )  # fmt: skip
