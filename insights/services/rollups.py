"""The reports' rollups, kept from the raw rows (docs/insights.md, "Rollups").

Three tables hold what the reports read (insights/models.py): one
:class:`ConversationFact` per business conversation, :class:`ActivityDay` rows (the
messages of a conversation on a day, by side and author) and :class:`DailyFigure`
rows (a business's day, in total and by source, campaign, agent, label, product,
start hour and first-response bucket). All are derived: each is recomputed whole from
the raw rows (conversations, messages, orders, payments, refunds, ratings, touches),
never incremented, so a recomputation is idempotent and a rebuild gives the same rows
as the incremental refresh (``insights/tests/test_rollups_property.py``).

- :func:`refresh` (the beat, every ``ROLLUP_REFRESH_INTERVAL`` seconds) folds in what
  changed since its last run: the conversations whose ``last_message_at`` moved (a
  message, a payment request — found through that indexed column, so the chat send
  pays nothing for the reports), the conversations insights' hooks marked stale (an
  order paid or refunded, a status, an assignee or labels changed: one small INSERT in
  that change's transaction) and those of the ratings given since. For each it
  recomputes the facts and the activity of the days since the last run, then every
  business day those touch: the conversation's start day (its outcome, response and
  resolution), the days of its recent messages, and its orders' request and paid days
  (a refund next week corrects its order's paid day).
- :func:`rebuild` recomputes everything of a business (or all) from a date on
  (``manage.py rebuild_insights``).

Both lock the one :class:`RollupState` row, so two never interleave; the refresh
looks ``OVERLAP`` further back than its last run, as a transaction that began before
it may commit a message stamped earlier.
"""

import datetime
import secrets
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Business, OpeningHours
from catalog.models import Product
from chats.models import Conversation, Message
from insights.models import (
    ActivityDay,
    ConversationFact,
    DailyFigure,
    Outcome,
    RollupState,
    RollupVersion,
    StaleConversation,
    Touch,
)
from insights.services.attribution import window_days
from marketing.models import SatisfactionRating
from payments.models import Order, OrderItem, Payment, Refund

OVERLAP = datetime.timedelta(minutes=2)
BATCH = 500  # conversations recomputed per round of queries
DIM = DailyFigure.Dim
# First-response buckets (seconds, upper bound excluded) and their keys.
RESPONSE_BUCKETS = (
    (5 * 60, "lt5m"),
    (60 * 60, "5-60m"),
    (4 * 3600, "1-4h"),
    (24 * 3600, "4-24h"),
    (None, "gt24h"),
)
NO_RESPONSE = "none"
PAID_CHANGES = {
    Order.Status.PROCESSING,
    Order.Status.PARTIALLY_REFUNDED,
    Order.Status.REFUNDED,
}


def response_bucket(seconds: int | None) -> str:
    if seconds is None:
        return NO_RESPONSE
    for bound, key in RESPONSE_BUCKETS:
        if bound is None or seconds < bound:
            return key
    raise AssertionError("unreachable")


# --- Marking stale (hooks, in the change's transaction) --------------------------------


def handle_order_status(*, order: Order, from_status: str, to_status: str, data: dict) -> None:
    """``payments.hooks.order_status_changed``: a payment or a refund changes figures."""
    if to_status in PAID_CHANGES and order.conversation_id:
        StaleConversation.objects.create(conversation_id=order.conversation_id)


def handle_conversation_changed(*, conversation: Conversation) -> None:
    """``chats.hooks.conversation_changed``: status, assignee or labels."""
    if conversation.business_id:
        StaleConversation.objects.create(conversation_id=conversation.pk)


# --- Refresh and rebuild ---------------------------------------------------------------


def refresh(*, now: datetime.datetime | None = None) -> int:
    """Fold the changes since the last run into the rollups; the number of
    conversations recomputed. Atomic; returns 0 at once when another refresh or a
    rebuild holds the lock. The first run ever rebuilds everything."""
    now = now or timezone.now()
    RollupState.objects.get_or_create(pk=1)
    with transaction.atomic():
        state = RollupState.objects.select_for_update(skip_locked=True).filter(pk=1).first()
        if state is None:
            return 0
        if state.scanned_until is None:
            count = _rebuild(None, None)
        else:
            # Businesses whose attribution window changed: everything, from scratch.
            wanted = list(
                RollupVersion.objects.filter(rebuild_wanted_at__isnull=False).values_list(
                    "business_id", "rebuild_wanted_at"
                )
            )
            for business in Business.objects.filter(pk__in=[b for b, _at in wanted]):
                _rebuild(business, None)
            for business_id, at in wanted:  # not one asked for again meanwhile
                RollupVersion.objects.filter(business_id=business_id, rebuild_wanted_at=at).update(
                    rebuild_wanted_at=None
                )
            since = state.scanned_until - OVERLAP
            stale = list(StaleConversation.objects.values_list("pk", "conversation_id"))
            changed = {c for _pk, c in stale}
            changed.update(
                SatisfactionRating.objects.filter(created_at__gte=since).values_list(
                    "order__conversation_id", flat=True
                )
            )
            wanted = set(changed)
            wanted.update(
                Conversation.objects.filter(
                    kind=Conversation.Kind.BUSINESS, last_message_at__gte=since
                ).values_list("pk", flat=True)
            )
            count = 0
            by_business = defaultdict(set)
            for pk, business_id in Conversation.objects.filter(
                pk__in=wanted, kind=Conversation.Kind.BUSINESS
            ).values_list("pk", "business_id"):
                by_business[business_id].add(pk)
            for business in Business.objects.filter(pk__in=by_business):
                ids = sorted(by_business[business.pk])
                days = recompute_conversations(business, ids, since=since, changed=changed)
                # Today's (and, past midnight, yesterday's) ratings and refunds.
                day, today = (
                    since.astimezone(business.tz).date(),
                    now.astimezone(business.tz).date(),
                )
                while day <= today:
                    days.add(day)
                    day += datetime.timedelta(days=1)
                recompute_days(business, days)
                count += len(ids)
            StaleConversation.objects.filter(pk__in=[pk for pk, _c in stale]).delete()
        state.scanned_until = now
        state.save(update_fields=["scanned_until"])
    return count


def rebuild(*, business: Business | None = None, since: datetime.date | None = None) -> int:
    """Recompute the rollups of ``business`` (None: every business) from the raw
    rows, for the days from ``since`` on (None: all); the number of conversations
    recomputed. Atomic; waits for a running refresh."""
    RollupState.objects.get_or_create(pk=1)
    with transaction.atomic():
        state = RollupState.objects.select_for_update().get(pk=1)
        count = _rebuild(business, since)
        if business is None and since is None and state.scanned_until is None:
            state.scanned_until = timezone.now()
            state.save(update_fields=["scanned_until"])
    return count


def _rebuild(business: Business | None, since: datetime.date | None) -> int:
    businesses = [business] if business is not None else Business.objects.all()
    count = 0
    for shop in businesses:
        start = None
        if since is not None:
            start = datetime.datetime.combine(since, datetime.time(), tzinfo=shop.tz)
        conversations = Conversation.objects.filter(business=shop)
        if start is not None:
            # Conversations with messages or orders since then, or started since.
            conversations = conversations.filter(
                Q(created_at__gte=start) | Q(last_message_at__gte=start)
                | Q(orders__paid_at__gte=start) | Q(orders__refunds__completed_at__gte=start)
            )  # fmt: skip
        ids = sorted(set(conversations.values_list("pk", flat=True)))
        recompute_conversations(shop, ids, since=start)
        figures = DailyFigure.objects.filter(business=shop)
        if since is not None:
            figures = figures.filter(day__gte=since)
        days = set(figures.values_list("day", flat=True).distinct())
        figures.delete()
        days |= _days_with_rows(shop, since)
        recompute_days(shop, days)
        count += len(ids)
    return count


def _days_with_rows(business: Business, since: datetime.date | None) -> set[datetime.date]:
    """Every local day on which something the daily figures count happened."""
    tz = business.tz
    facts = ConversationFact.objects.filter(business=business)
    activity = ActivityDay.objects.filter(business=business)
    orders = Order.objects.filter(business=business)
    ratings = SatisfactionRating.objects.filter(business=business)
    if since is not None:
        start = datetime.datetime.combine(since, datetime.time(), tzinfo=tz)
        facts = facts.filter(started_on__gte=since)
        activity = activity.filter(day__gte=since)
        ratings = ratings.filter(created_at__gte=start)
        requested = orders.filter(created_at__gte=start)
        paid = orders.filter(paid_at__gte=start)
    else:
        requested, paid = orders, orders.filter(paid_at__isnull=False)
    days = set(facts.values_list("started_on", flat=True).distinct())
    days |= set(activity.values_list("day", flat=True).distinct())
    days |= set(_local_days(requested, "created_at", tz))
    days |= set(_local_days(paid, "paid_at", tz))
    days |= set(_local_days(ratings, "created_at", tz))
    return days


def _local_days(queryset, column: str, tz) -> Iterable[datetime.date]:
    return (
        queryset.annotate(local_day=TruncDate(column, tzinfo=tz))
        .values_list("local_day", flat=True)
        .distinct()
        .order_by()
    )


# --- Conversations: facts and activity -------------------------------------------------


def _day_start(day: datetime.date, tz) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=tz)


def recompute_conversations(
    business: Business,
    ids: list[int],
    *,
    since: datetime.datetime | None,
    changed: frozenset[int] | set[int] = frozenset(),
) -> set[datetime.date]:
    """Recompute the facts of the conversations ``ids`` (``business``'s) and their
    activity from the local day of ``since`` on (None: all); the business days whose
    figures this may change: their start days, the days of their messages and orders
    since ``since`` and, for those in ``changed`` (an agent, labels, a payment or a
    refund may have moved figures of any day of theirs), every day of their messages
    and orders. Call inside the refresh's transaction."""
    tz = business.tz
    since_day = since.astimezone(tz).date() if since is not None else None
    window = datetime.timedelta(days=window_days(business.pk))
    hours = list(OpeningHours.objects.filter(business=business))
    days: set[datetime.date] = set()
    for offset in range(0, len(ids), BATCH):
        chunk = ids[offset : offset + BATCH]
        days |= _recompute_facts(business, chunk, window, hours, since, changed)
        days |= _recompute_activity(business, chunk, since_day)
    if changed and since is not None:
        days.update(
            ActivityDay.objects.filter(conversation_id__in=changed)
            .values_list("day", flat=True)
            .distinct()
        )
    return days


def _recompute_facts(business, ids, window, hours, since, changed) -> set[datetime.date]:
    tz = business.tz
    customer_messages = Message.objects.filter(
        conversation=OuterRef("pk"), sender__user__isnull=False
    ).order_by("seq")
    # The first message a member typed after the customer's first one.
    responses = Message.objects.filter(
        conversation=OuterRef("pk"), seq__gt=OuterRef("first_seq"),
        sender__business__isnull=False, author__isnull=False,
    ).order_by("seq")  # fmt: skip
    conversations = list(
        Conversation.objects.filter(pk__in=ids, business=business)
        .annotate(
            first_seq=Subquery(customer_messages.values("seq")[:1]),
            first_at=Subquery(customer_messages.values("created_at")[:1]),
            first_kind=Subquery(customer_messages.values("kind")[:1]),
            first_product=Subquery(
                customer_messages.annotate(product=KT("payload__product_id")).values("product")[:1]
            ),
            campaign=Subquery(
                Touch.objects.filter(conversation=OuterRef("pk"), kind=Touch.Kind.CONVERSATION)
                .order_by("pk")
                .values("campaign_id")[:1]
            ),
        )
        .annotate(
            response_at=Subquery(responses.values("created_at")[:1]),
            responder=Subquery(responses.values("author_id")[:1]),
        )
        .values(
            "pk", "created_at", "utm_source", "ref", "assignee_id", "resolved_at",
            "first_seq", "first_at", "first_kind", "first_product", "campaign",
            "response_at", "responder",
        )
    )  # fmt: skip
    orders = defaultdict(list)
    for order in Order.objects.filter(conversation_id__in=ids).values(
        "pk", "conversation_id", "created_at", "paid_at", "total"
    ):
        orders[order["conversation_id"]].append(order)
    money = _order_money([o["pk"] for rows in orders.values() for o in rows])
    # A product card's product may have been deleted since.
    products = {str(c["first_product"]) for c in conversations if c["first_kind"] == "product"}
    products = {
        str(pk)
        for pk in Product.objects.filter(
            business=business, pk__in=[int(p) for p in products if p.isdigit()]
        ).values_list("pk", flat=True)
    }
    old = dict(ConversationFact.objects.filter(pk__in=ids).values_list("pk", "started_on"))
    facts, days = [], set(old.values())
    for c in conversations:
        started_at = c["created_at"]
        local = started_at.astimezone(tz)
        first_response_seconds = None
        if c["response_at"] is not None:
            first_response_seconds = max(0, int((c["response_at"] - c["first_at"]).total_seconds()))
        end = started_at + window
        in_window = [o for o in orders[c["pk"]] if o["created_at"] < end]
        paid = [o for o in orders[c["pk"]] if o["paid_at"] is not None and o["paid_at"] < end]
        outcome = Outcome.BOUGHT if paid else Outcome.UNPAID if in_window else Outcome.NONE
        product = str(c["first_product"]) if c["first_kind"] == "product" else None
        fact = ConversationFact(
            conversation_id=c["pk"],
            business=business,
            started_at=started_at,
            started_on=local.date(),
            started_hour=local.hour,
            source=(c["utm_source"] or c["ref"])[:100],
            campaign_id=c["campaign"],
            product_id=int(product) if product in products else None,
            agent_id=c["assignee_id"] or c["responder"],
            first_customer_at=c["first_at"],
            first_response_at=c["response_at"],
            first_response_seconds=first_response_seconds,
            in_hours=business.is_open_at(c["first_at"], hours) if hours and c["first_at"] else None,
            resolved_at=c["resolved_at"],
            resolution_seconds=(
                max(0, int((c["resolved_at"] - started_at).total_seconds()))
                if c["resolved_at"] else None
            ),
            outcome=outcome,
            requests=len(in_window),
            paid_orders=len(paid),
            revenue=sum(money[o["pk"]].net for o in paid),
        )  # fmt: skip
        facts.append(fact)
        days.add(fact.started_on)
        for order in orders[c["pk"]]:
            paid_at = order["paid_at"]
            if since is None or c["pk"] in changed or order["created_at"] >= since:
                days.add(order["created_at"].astimezone(tz).date())
            if paid_at is not None and (since is None or c["pk"] in changed or paid_at >= since):
                days.add(paid_at.astimezone(tz).date())
    ConversationFact.objects.filter(pk__in=ids).delete()
    ConversationFact.objects.bulk_create(facts)
    return days


class _Money:
    __slots__ = ("fee", "gross", "refunds")

    def __init__(self) -> None:
        self.gross = self.fee = self.refunds = 0

    @property
    def net(self) -> int:
        return self.gross - self.fee - self.refunds


def _order_money(order_ids: list[int]) -> dict[int, _Money]:
    """{order id: what it brought}: gross = the settled payment's amount (or, paid
    outside the platform, the order's total), its fee, and refunds = the succeeded
    refunds' amount − the fee they gave back (what the merchant lost:
    docs/payments.md, "Refunds"). Three queries per 5,000 orders."""
    out: dict[int, _Money] = defaultdict(_Money)
    for chunk in _chunks(order_ids):
        for order_id, amount, fee in Payment.objects.filter(
            order_id__in=chunk, status__in=Payment.SETTLED
        ).values_list("order_id", "amount", "fee"):
            out[order_id].gross += amount
            out[order_id].fee += fee
        for order_id, amount, fee in Refund.objects.filter(
            order_id__in=chunk, status=Refund.Status.SUCCEEDED
        ).values_list("order_id", "amount", "fee"):
            out[order_id].refunds += amount - fee
        # Paid outside the platform (direct Pix): its total, no fee, no Payment row.
        for order_id, total in (
            Order.objects.filter(pk__in=chunk).exclude(paid_outside="").values_list("pk", "total")
        ):
            out[order_id].gross += total
    return out


def _chunks(ids: Iterable[int], size: int = 5000) -> Iterable[list[int]]:
    """``ids`` in lists of at most ``size`` (SQLite limits a query's parameters)."""
    ids = list(ids)
    for offset in range(0, len(ids), size):
        yield ids[offset : offset + size]


def _recompute_activity(business, ids, since_day) -> set[datetime.date]:
    tz = business.tz
    old = ActivityDay.objects.filter(conversation_id__in=ids)
    messages = Message.objects.filter(conversation_id__in=ids, sender__isnull=False)
    if since_day is not None:
        old = old.filter(day__gte=since_day)
        messages = messages.filter(created_at__gte=_day_start(since_day, tz))
    days = set(old.values_list("day", flat=True).distinct())
    old.delete()
    rows: dict[tuple, ActivityDay] = {}
    for row in (
        messages.annotate(local_day=TruncDate("created_at", tzinfo=tz))
        .values("conversation_id", "local_day", "sender__user_id", "author_id")
        .annotate(
            n=Count("pk"),
            asks=Count("pk", filter=Q(kind="followup", payload__rating=True)),
        )
        .order_by()
    ):
        incoming = row["sender__user_id"] is not None
        author = None if incoming else row["author_id"]
        key = (row["conversation_id"], row["local_day"], author)
        activity = rows.get(key)
        if activity is None:
            activity = rows[key] = ActivityDay(
                business=business, conversation_id=key[0], day=key[1], author_id=author
            )
        if incoming:
            activity.incoming += row["n"]
        else:
            activity.outgoing += row["n"]
            activity.rating_requests += row["asks"]
        days.add(row["local_day"])
    ActivityDay.objects.bulk_create(rows.values())
    return days


# --- Business days ---------------------------------------------------------------------


class _Row(dict):
    """The counters of one DailyFigure row, by column name."""

    def add(self, **values: int) -> None:
        for name, value in values.items():
            self[name] = self.get(name, 0) + value


SPAN = 31  # days recomputed per round of queries


def recompute_days(business: Business, days: Iterable[datetime.date]) -> None:
    """Recompute every DailyFigure row of ``business`` on each of its local ``days``
    from the facts, the activity and the orders and ratings of those days: the days
    are taken in spans of at most ``SPAN`` days, each in a fixed number of queries,
    whatever the days hold."""
    days = sorted(set(days))
    while days:
        span = [d for d in days if d < days[0] + datetime.timedelta(days=SPAN)]
        days = days[len(span) :]
        _recompute_span(business, set(span))
    # The reports rendered from the old rows are stale now (insights.reports.cache).
    RollupVersion.objects.update_or_create(
        business=business, defaults={"version": secrets.token_hex(16)}
    )


def _recompute_span(business: Business, days: set[datetime.date]) -> None:
    tz = business.tz
    first, last = min(days), max(days)
    start = _day_start(first, tz)
    end = _day_start(last + datetime.timedelta(days=1), tz)
    rows: dict[tuple[datetime.date, str, str], _Row] = defaultdict(_Row)

    def local(moment: datetime.datetime) -> datetime.date:
        return moment.astimezone(tz).date()

    fields = ("pk", "started_on", "started_hour", "source", "campaign_id", "agent_id",
              "product_id", "outcome", "first_response_at", "first_response_seconds",
              "resolved_at")  # fmt: skip
    started = [
        f
        for f in ConversationFact.objects.filter(
            business=business, started_on__gte=first, started_on__lte=last
        ).values(*fields)
        if f["started_on"] in days
    ]
    activity = [
        a
        for a in ActivityDay.objects.filter(
            business=business, day__gte=first, day__lte=last
        ).values("day", "conversation_id", "author_id", "incoming", "outgoing", "rating_requests")
        if a["day"] in days
    ]
    requested = [
        (local(at), conversation_id)
        for conversation_id, at in Order.objects.filter(
            business=business, created_at__gte=start, created_at__lt=end
        ).values_list("conversation_id", "created_at")
        if local(at) in days
    ]
    paid = [
        (local(at), pk, conversation_id)
        for pk, conversation_id, at in Order.objects.filter(
            business=business, paid_at__gte=start, paid_at__lt=end
        ).values_list("pk", "conversation_id", "paid_at")
        if local(at) in days
    ]
    ratings = [
        (local(at), score, conversation_id)
        for score, conversation_id, at in SatisfactionRating.objects.filter(
            business=business, created_at__gte=start, created_at__lt=end
        ).values_list("score", "order__conversation_id", "created_at")
        if local(at) in days
    ]
    # The facts of the conversations these rows name (many started on other days).
    facts = {f["pk"]: f for f in started}
    others = {c for _d, c in requested} | {c for _d, _o, c in paid}
    others |= {a["conversation_id"] for a in activity} | {c for _d, _s, c in ratings}
    others -= set(facts)
    others.discard(None)
    for chunk in _chunks(others):
        facts.update(
            (f["pk"], f)
            for f in ConversationFact.objects.filter(business=business, pk__in=chunk).values(
                *fields
            )
        )
    labels = defaultdict(list)
    for chunk in _chunks(facts):
        for conversation_id, label_id in Conversation.objects.filter(
            business=business, pk__in=chunk, contact__labels__isnull=False
        ).values_list("pk", "contact__labels"):
            labels[conversation_id].append(label_id)

    def keys(conversation_id, *, own=()) -> list[tuple[str, str]]:
        """The rows a conversation's figure goes to: total, and its dimensions."""
        out = [(DIM.TOTAL, "")]
        fact = facts.get(conversation_id)
        if fact is not None:
            out += [
                (DIM.SOURCE, fact["source"]),
                (DIM.CAMPAIGN, _key(fact["campaign_id"])),
                (DIM.AGENT, _key(fact["agent_id"])),
            ]
            out += [(DIM.LABEL, str(label)) for label in labels[conversation_id]]
        return out + list(own)

    for fact in started:
        counts = {
            "conversations": 1,
            "bought": int(fact["outcome"] == Outcome.BOUGHT),
            "unpaid": int(fact["outcome"] == Outcome.UNPAID),
            "responded": int(fact["first_response_at"] is not None),
            "resolved": int(fact["resolved_at"] is not None),
        }
        own = [
            (DIM.HOUR, str(fact["started_hour"])),
            (DIM.RESPONSE, response_bucket(fact["first_response_seconds"])),
        ]
        if fact["product_id"]:
            own.append((DIM.PRODUCT, str(fact["product_id"])))
        for dim, key in keys(fact["pk"], own=own):
            rows[(fact["started_on"], dim, key)].add(**counts)

    for a in activity:
        fact, day = facts.get(a["conversation_id"]), a["day"]
        rows[(day, DIM.TOTAL, "")].add(
            messages_in=a["incoming"], messages_out=a["outgoing"],
            rating_requests=a["rating_requests"],
        )  # fmt: skip
        if a["author_id"] is not None:
            rows[(day, DIM.AGENT, str(a["author_id"]))].add(messages_out=a["outgoing"])
        elif a["incoming"] and fact is not None:
            rows[(day, DIM.AGENT, _key(fact["agent_id"]))].add(messages_in=a["incoming"])

    for day, conversation_id in requested:
        for dim, key in keys(conversation_id):
            rows[(day, dim, key)].add(requests=1)

    money = _order_money([o for _d, o, _c in paid])
    lines = defaultdict(list)
    for chunk in _chunks([o for _d, o, _c in paid]):
        for order_id, product_id, quantity, line_total in OrderItem.objects.filter(
            order_id__in=chunk
        ).values_list("order_id", "product_id", "quantity", "line_total"):
            lines[order_id].append((product_id, quantity, line_total))
    for day, order_id, conversation_id in paid:
        m = money[order_id]
        for dim, key in keys(conversation_id):
            rows[(day, dim, key)].add(paid=1, gross=m.gross, fee=m.fee, refunds=m.refunds)
        for product_id, quantity, gross, fee, refunds in _split(lines[order_id], m):
            if product_id is not None:
                rows[(day, DIM.PRODUCT, str(product_id))].add(
                    paid=1, units=quantity, gross=gross, fee=fee, refunds=refunds
                )

    for day, score, conversation_id in ratings:
        fact = facts.get(conversation_id)
        values = {"ratings": 1, "rating_sum": score, f"rated_{score}": 1}
        rows[(day, DIM.TOTAL, "")].add(**values)
        if fact is not None:
            rows[(day, DIM.AGENT, _key(fact["agent_id"]))].add(**values)

    DailyFigure.objects.filter(business=business, day__in=days).delete()
    DailyFigure.objects.bulk_create(
        (
            DailyFigure(business=business, day=day, dim=dim, key=key, **values)
            for (day, dim, key), values in rows.items()
            if any(values.values())
        ),
        batch_size=2000,
    )


def _key(pk: int | None) -> str:
    return "" if pk is None else str(pk)


def _split(lines: list[tuple], money: _Money) -> list[tuple]:
    """Each line's (product, units, gross, fee, refunds): gross = its line total; the
    order's fee and refunds shared by line total, the remainders to the largest lines
    first so that the shares sum to the order's exactly."""
    subtotal = sum(total for _p, _q, total in lines)
    if not lines or subtotal <= 0:
        return []
    shares = []
    for name in ("fee", "refunds"):
        amount = getattr(money, name)
        parts = [amount * total // subtotal for _p, _q, total in lines]
        left = amount - sum(parts)
        order = sorted(range(len(lines)), key=lambda i: (-lines[i][2], i))
        for i in order[:left]:
            parts[i] += 1
        shares.append(parts)
    return [
        (product, quantity, total, shares[0][i], shares[1][i])
        for i, (product, quantity, total) in enumerate(lines)
    ]
