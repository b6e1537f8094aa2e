"""The Insights reports on a year of a busy shop, against a tenth of it and the bare view.

    .venv/bin/python bench/insights.py                 # the goal's size (~5-8 minutes)
    .venv/bin/python bench/insights.py --scale 0.01    # a quick run of the same steps

One command, nothing to set up. It makes a throw-away PostgreSQL database on
``--postgres`` (``conversa_bench_insights_<random>``, dropped afterwards) and a
temporary ``VAR_DIR``, migrates, and builds through the services five businesses
owned by one user (with three agents each, ten products and two campaigns). Then it
writes their year with bulk SQL (``COPY``, not the services: a million messages
through them would take hours): for the **big** business 20,000 customers (users,
contacts, cards) with a conversation each, 1,000,000 messages (both sides, the
business's by an agent or automatic, in bursts over the conversation's weeks, more in
the day than at night), 100,000 orders with items, of which most are paid (payments,
fee, attribution snapshots), some expired or canceled, some refunded in full or in
part, and ratings of the delivered ones, over 365 days; and a tenth of each for the
**tenth** business and three others around them. ``--scale`` multiplies every count.

Then, in order:

1. ``insights.services.rollups.rebuild(business=big)``, timed (then the others');
2. every report page (``REPORT_PAGES``) for ``?range=1`` and ``?range=365``,
   in-process with the test client: the query count must be the same (asserted);
3. the production-like server (``bench/pages.py``'s: uvicorn, 1 worker, DEBUG=0) with
   the owner's session, loaded after a warm-up over 8 keep-alive connections: the
   bare view, the overview for 28 and 365 days of the big and the tenth business, and
   each other report page for 365 days of the big one.

It prints the rebuild's seconds, each page's p50 and its throughput as a share of the
bare view's (by requests/s and by server CPU per request), and for the overview the
ratio big / tenth of the p50. Goals (issue #19): the ratio at most 1.5 for 28 and 365
days; every report page at least 25 % of the bare view (by server CPU, the steadier
figure on shared cores: bench/README.md); equal query counts. Exit 1 when a goal is
missed or cannot be measured (the rollups or the pages not there yet: it says so).
"""

import argparse
import datetime
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import (
    clean_up,
    run_server_bench,
    server_environment,
    setup_django,
    throwaway_postgres,
)

SEED = 19
DAYS = 365
BIG = {"conversations": 20_000, "messages": 1_000_000, "orders": 100_000}
TENTH = 0.1  # the tenth business and each of the OTHERS, as a share of BIG
OTHERS = 3
AGENTS = 3
PRODUCTS = 10
GOAL_RATIO = 1.5  # overview time, big / tenth
GOAL_SHARE = 0.25  # each report page's throughput, as a share of the bare view's
# The report pages (URL names, kwargs ``slug``; insights/urls.py) and their period
# parameter (``range=N``: the last N days). One place to change when they change.
REPORT_PAGES = {
    "overview": "insights_overview",
    "sales": "insights_sales",
    "conversations": "insights_conversations",
    "support": "insights_support",
    "offers": "insights_offers",
    "products": "insights_products",
}
RANGE_PARAM = "range"
PAYMENT_STATUS = {"full": "refunded", "part": "partially_refunded"}  # by refund
SOURCES = [  # (utm_source, utm_medium, campaign index or None, weight)
    ("instagram", "social", 0, 35),
    ("google", "cpc", 1, 20),
    ("whatsapp", "status", None, 15),
    ("", "", None, 30),
]
HOUR_WEIGHTS = [1, 1, 0, 0, 0, 1, 2, 4, 6, 8, 9, 8, 7, 6, 6, 7, 8, 9, 10, 9, 7, 5, 3, 2]
TEXTS = [
    "Oi! Tem disponível?", "Qual o prazo de entrega?", "Pode separar para mim?",
    "Temos sim!", "Chega amanhã.", "Obrigada!", "Vou querer dois.", "Aceita cartão?",
]  # fmt: skip


def log(message: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {message}", flush=True)


# --- set-up through the services ---------------------------------------------------------


def create_businesses(scale: float):
    """The owner, five businesses with agents, products and two campaigns each."""
    from accounts import services as account_services
    from accounts.models import Membership, User
    from catalog import services as catalog
    from insights.services import campaigns

    owner = User.objects.create_user(email="owner@bench.invalid", display_name="Bench Owner")
    sizes = {"big": 1.0, "tenth": TENTH} | {f"other-{n}": TENTH for n in range(1, OTHERS + 1)}
    shops = []
    for label, share in sizes.items():
        business = account_services.create_business(
            user=owner, name=f"Loja {label}", slug=f"loja-{label}", city="São Paulo"
        )
        account_services.set_opening_hours(
            actor=owner,
            business=business,
            hours=[(d, datetime.time(8), datetime.time(20)) for d in range(6)],
        )
        agents = [owner]
        for n in range(AGENTS):
            agent = User.objects.create_user(
                email=f"agent{n}@{label}.bench.invalid", display_name=f"Agent {n}"
            )
            Membership.objects.create(user=agent, business=business, role=Membership.Role.AGENT)
            agents.append(agent)
        products = [
            catalog.create_product(
                actor=owner,
                business=business,
                name=f"Produto {n}",
                retailer_id=f"SKU-{n}",
                price=990 + 500 * n,
            )
            for n in range(PRODUCTS)
        ]
        codes = [
            campaigns.create_campaign(
                actor=owner,
                business=business,
                name=name,
                channel=channel,
                code=code,
                total_cost=50_000,
            )
            for name, channel, code in (
                ("Instagram", "instagram", "insta"),
                ("Google", "google", "google"),
            )
        ]
        counts = {k: max(1, round(v * share * scale)) for k, v in BIG.items()}
        shops.append(
            {
                "label": label,
                "business": business,
                "agents": agents,
                "products": products,
                "campaigns": codes,
                **counts,
            }
        )
    return owner, shops


# --- bulk rows ---------------------------------------------------------------------------


class Copier:
    """Rows written with PostgreSQL's COPY (text format), with ids chosen here so the
    rows can point at each other; the id sequences are moved past them at the end."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.next_ids: dict[str, int] = {}
        self.rows: dict[str, tuple[list[str], list[str]]] = {}

    def next_id(self, table: str) -> int:
        if table not in self.next_ids:
            with self.connection.cursor() as cursor:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608
                self.next_ids[table] = cursor.fetchone()[0]
        pk = self.next_ids[table]
        self.next_ids[table] = pk + 1
        return pk

    def add(self, table: str, row: dict) -> None:
        columns, lines = self.rows.setdefault(table, (list(row), []))
        lines.append("\t".join(_text(row[c]) for c in columns))
        if len(lines) >= 50_000:
            self.flush()

    def flush(self) -> None:
        """Write what is waiting, table by table in the order they were first seen,
        which is the order their rows point at each other."""
        for name in self.rows:
            columns, lines = self.rows[name]
            if not lines:
                continue
            raw = self.connection.connection
            with raw.cursor() as cursor:
                sql = f"COPY {name} ({', '.join(columns)}) FROM STDIN"
                with cursor.copy(sql) as copy:
                    copy.write("\n".join(lines) + "\n")
            lines.clear()

    def finish(self) -> None:
        self.flush()
        with self.connection.cursor() as cursor:
            for table in self.next_ids:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT MAX(id) FROM {table}))"
                )
            cursor.execute("ANALYZE")


def _text(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def generate(shops, *, owner, started: float, now: datetime.datetime) -> dict[str, int]:
    """Every shop's year (see the module docstring); returns the row counts."""
    from django.db import connection

    connection.ensure_connection()
    rng = random.Random(SEED)
    out = Copier(connection)
    totals: dict[str, int] = {}
    for shop in shops:
        counts = generate_shop(out, rng, shop, owner=owner, now=now)
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
        log(
            f"{shop['label']}: {counts['conversations']:,} conversations, "
            f"{counts['messages']:,} messages, {counts['orders']:,} orders",
            started,
        )
    out.finish()
    return totals


def _moment(rng: random.Random, now: datetime.datetime) -> datetime.datetime:
    day = now - datetime.timedelta(days=rng.random() * DAYS)
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    # São Paulo is UTC−3: the local hour's weights, as UTC
    moment = day.replace(hour=(hour + 3) % 24, minute=rng.randrange(60), second=rng.randrange(60))
    return min(moment, now - datetime.timedelta(minutes=5))


def generate_shop(out: Copier, rng, shop, *, owner, now) -> dict[str, int]:
    business = shop["business"]
    agents = [a.pk for a in shop["agents"]]
    products = shop["products"]
    campaigns = shop["campaigns"]
    n_conv, n_msg, n_orders = shop["conversations"], shop["messages"], shop["orders"]
    fee_rate = business.fee_bps
    counts = dict.fromkeys(("conversations", "messages", "orders", "payments", "refunds"), 0)
    order_number = 0
    label = shop["label"]
    msg_left, orders_left = n_msg, n_orders
    for i in range(n_conv):
        start = _moment(rng, now)
        # how many messages and orders this conversation gets: the rest, spread evenly
        # with some variation, so the totals come out exact
        remaining = n_conv - i
        k_msg = (
            msg_left
            if remaining == 1
            else max(1, int(msg_left / remaining * rng.uniform(0.2, 1.8)))
        )
        k_msg = min(k_msg, msg_left - (remaining - 1)) if remaining > 1 else k_msg
        k_ord = (
            orders_left
            if remaining == 1
            else int(orders_left / remaining * rng.uniform(0, 2) + 0.5)
        )
        k_ord = min(k_ord, orders_left)
        msg_left -= k_msg
        orders_left -= k_ord

        user_id = out.next_id("accounts_user")
        out.add("accounts_user", {
            "id": user_id, "password": "!bench", "last_login": None, "is_superuser": False,
            "is_staff": False, "is_active": True, "date_joined": start,
            "email": f"c{i}@{label}.bench.invalid", "display_name": f"Cliente {i}",
            "phone": "", "language": "pt-br",
        })  # fmt: skip
        card_id = out.next_id("payments_card")
        out.add("payments_card", {
            "id": card_id, "user_id": user_id, "gateway": "sandbox", "token": f"tok_{card_id}",
            "brand": "visa", "funding": "credit", "last4": "4242", "exp_month": 12,
            "exp_year": now.year + 3, "holder_name": f"Cliente {i}", "is_default": True,
            "created_at": start, "removed_at": None,
        })  # fmt: skip
        contact_id = out.next_id("chats_contact")
        out.add("chats_contact", {
            "id": contact_id, "business_id": business.pk, "user_id": user_id,
            "blocked_at": None, "blocked_by_id": None, "created_at": start,
            "offers_consent_at": start if rng.random() < 0.4 else None,
            "offers_consent_source": "chat", "offers_opt_out_at": None,
            "offers_opt_out_source": "",
        })  # fmt: skip
        source, medium, campaign_index, _w = rng.choices(SOURCES, weights=[s[3] for s in SOURCES])[
            0
        ]
        campaign = campaigns[campaign_index] if campaign_index is not None else None

        # messages: bursts over up to six weeks, both sides
        times = []
        moment = start
        for _ in range(k_msg):
            times.append(moment)
            moment += datetime.timedelta(seconds=rng.choice((20, 60, 180, 900, 3600, 20000, 90000)))
        times = [min(t, now - datetime.timedelta(seconds=1)) for t in times]
        agent = rng.choice(agents)
        resolved = times[-1] + datetime.timedelta(hours=2) if rng.random() < 0.4 else None
        if resolved and resolved > now:
            resolved = None
        conversation_id = out.next_id("chats_conversation")
        out.add("chats_conversation", {
            "id": conversation_id, "kind": "business", "business_id": business.pk,
            "contact_id": contact_id, "direct_key": None,
            "status": "resolved" if resolved else "open",
            "assignee_id": agent if rng.random() < 0.5 else None, "last_seq": k_msg,
            "last_message_id": None, "last_message_at": times[-1], "away_sent_at": None,
            "resolved_at": resolved, "ref": campaign.code if campaign else "",
            "utm_source": source, "utm_medium": medium,
            "utm_campaign": campaign.code if campaign else "", "utm_term": "",
            "utm_content": "", "referrer": "", "created_at": start,
        })  # fmt: skip
        customer_side = out.next_id("chats_participant")
        business_side = out.next_id("chats_participant")
        for pk, user, biz in ((customer_side, user_id, None), (business_side, None, business.pk)):
            out.add("chats_participant", {
                "id": pk, "conversation_id": conversation_id, "user_id": user,
                "business_id": biz, "last_read_seq": k_msg, "last_delivered_seq": k_msg,
                "unread": 0, "emailed_seq": 0, "email_due_at": None, "email_attempts": 0,
                "blocked_at": None,
            })  # fmt: skip
        touch_id = None
        if source:
            touch_id = out.next_id("insights_touch")
            out.add("insights_touch", {
                "id": touch_id, "business_id": business.pk,
                "campaign_id": campaign.pk if campaign else None, "kind": "conversation",
                "page": "chat", "occurred_at": start, "ref": campaign.code if campaign else "",
                "source": source, "medium": medium,
                "utm_campaign": campaign.code if campaign else "", "click_id_kind": "",
                "click_id": "", "visitor": "", "contact_id": contact_id,
                "conversation_id": conversation_id, "product_id": None, "broadcast_id": None,
            })  # fmt: skip
        customer_turn = True
        for seq, at in enumerate(times, 1):
            if seq == 1 or rng.random() < 0.35:
                customer_turn = not customer_turn if seq > 1 else True
            automatic = not customer_turn and rng.random() < 0.05
            author = (
                user_id
                if customer_turn
                else (None if automatic else rng.choice((agent, agent, rng.choice(agents))))
            )
            out.add("chats_message", {
                "id": out.next_id("chats_message"), "conversation_id": conversation_id,
                "seq": seq, "sender_id": customer_side if customer_turn else business_side,
                "author_id": author, "kind": "text", "body": rng.choice(TEXTS), "payload": "{}",
                "image": "", "image_thumb": "", "client_id": None, "created_at": at,
            })  # fmt: skip
        counts["messages"] += k_msg
        counts["conversations"] += 1

        # orders, each asked for during the conversation
        for _ in range(k_ord):
            order_number += 1
            created = rng.choice(times)
            items = [
                (rng.choice(products), rng.randint(1, 3)) for _ in range(rng.choice((1, 1, 2)))
            ]
            subtotal = sum(p.price * q for p, q in items)
            shipping = rng.choice((0, 800, 1500))
            roll = rng.random()
            status = (
                "pending" if roll < 0.03 else "expired" if roll < 0.2
                else "canceled" if roll < 0.25 else "paid"
            )  # fmt: skip
            paid_at = created + datetime.timedelta(minutes=rng.randint(1, 600))
            if status == "paid" and paid_at >= now:
                status = "pending"
            refund = None
            if status == "paid":
                r = rng.random()
                refund = "full" if r < 0.02 else "part" if r < 0.05 else None
                status = {"full": "refunded", "part": "partially_refunded"}.get(
                    refund, rng.choice(("processing", "shipped", "completed", "completed"))
                )
            order_id = out.next_id("payments_order")
            total = subtotal + shipping
            out.add("payments_order", {
                "id": order_id, "business_id": business.pk, "conversation_id": conversation_id,
                "customer_id": user_id, "number": order_number, "status": status,
                "currency": business.currency, "subtotal": subtotal, "shipping": shipping,
                "discount": 0, "total": total, "note": "",
                "expires_at": created + datetime.timedelta(hours=24),
                "created_by_id": agent, "created_at": created,
                "paid_at": paid_at if status not in ("pending", "expired", "canceled") else None,
                "message_id": None,
            })  # fmt: skip
            for position, (product, quantity) in enumerate(items):
                out.add("payments_orderitem", {
                    "id": out.next_id("payments_orderitem"), "order_id": order_id,
                    "product_id": product.pk, "name": product.name,
                    "unit_price": product.price, "quantity": quantity,
                    "line_total": product.price * quantity, "position": position,
                })  # fmt: skip
            counts["orders"] += 1
            if status in ("pending", "expired", "canceled"):
                continue
            fee = (total * fee_rate + 5_000) // 10_000
            refunded = total if refund == "full" else total // 3 if refund == "part" else 0
            payment_id = out.next_id("payments_payment")
            out.add("payments_payment", {
                "id": payment_id, "order_id": order_id, "payer_id": user_id,
                "business_id": business.pk, "payee_id": None, "conversation_id": None,
                "money_request_id": None, "note": "", "card_id": card_id, "amount": total,
                "fee": fee, "refunded": refunded, "currency": business.currency,
                "status": PAYMENT_STATUS.get(refund, "succeeded"),
                "confirmation": "pin", "idempotency_key": f"bench-{payment_id}",
                "gateway": "sandbox", "gateway_reference": f"ch_{payment_id}",
                "funding": "credit", "failure_code": "", "failure_message": "",
                "created_at": paid_at, "completed_at": paid_at, "recovery_lease_until": None,
            })  # fmt: skip
            counts["payments"] += 1
            out.add("insights_orderattribution", {
                "id": out.next_id("insights_orderattribution"), "order_id": order_id,
                "business_id": business.pk, "paid_at": paid_at, "window_days": 7,
                "currency": business.currency, "gross": total, "fee": fee,
                "conversation_id": conversation_id, "contact_id": contact_id,
                "first_touch_id": touch_id, "first_campaign_id": campaign.pk if campaign else None,
                "first_source": source, "first_medium": medium, "first_click_id": "",
                "last_touch_id": touch_id, "last_campaign_id": campaign.pk if campaign else None,
                "last_source": source, "last_medium": medium, "last_click_id": "",
                "created_at": paid_at,
            })  # fmt: skip
            if refund:
                refunded_at = min(paid_at + datetime.timedelta(days=rng.randint(1, 10)), now)
                refund_id = out.next_id("payments_refund")
                out.add("payments_refund", {
                    "id": refund_id, "payment_id": payment_id, "order_id": order_id,
                    "amount": refunded, "fee": fee if refund == "full" else fee // 3,
                    "currency": business.currency, "reason": "", "status": "succeeded",
                    "idempotency_key": f"bench-refund-{refund_id}", "gateway": "sandbox",
                    "gateway_reference": f"re_{refund_id}", "failure_code": "",
                    "failure_message": "", "created_by_id": owner.pk,
                    "created_at": refunded_at, "completed_at": refunded_at,
                })  # fmt: skip
                counts["refunds"] += 1
            elif status == "completed" and rng.random() < 0.4:
                rated = min(paid_at + datetime.timedelta(days=rng.randint(3, 6)), now)
                out.add("marketing_satisfactionrating", {
                    "id": out.next_id("marketing_satisfactionrating"), "order_id": order_id,
                    "business_id": business.pk, "customer_id": user_id,
                    "score": rng.choices((1, 2, 3, 4, 5), weights=(6, 7, 12, 30, 45))[0],
                    "created_at": rated,
                })  # fmt: skip
    return counts


# --- the measurements --------------------------------------------------------------------


def time_rebuild(shops, started: float) -> float | None:
    """Seconds to rebuild the big business's rollups (then the others', untimed)."""
    try:
        from insights.services import rollups
    except ImportError:
        log("insights.services.rollups is not there yet: no rebuild to time", started)
        return None
    big, *others = shops
    begun = time.perf_counter()
    rows = rollups.rebuild(business=big["business"])
    seconds = time.perf_counter() - begun
    log(f"rebuild of {big['label']}: {seconds:.1f} s ({rows} rows)", started)
    for shop in others:
        rollups.rebuild(business=shop["business"])
    log("the other businesses rebuilt", started)
    return seconds


def report_paths(slug: str, days: int) -> dict[str, str] | None:
    """Each report page's path for ``days``, or None if the pages are not there yet."""
    from django.urls import NoReverseMatch, reverse

    try:
        return {
            name: f"{reverse(url_name, kwargs={'slug': slug})}?{RANGE_PARAM}={days}"
            for name, url_name in REPORT_PAGES.items()
        }
    except NoReverseMatch:
        return None


def check_query_counts(owner, slug: str) -> tuple[bool, list[str]]:
    """Each report page's query count for 1 day and for 365, in-process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="127.0.0.1")
    client.force_login(owner)
    one, year = report_paths(slug, 1), report_paths(slug, DAYS)
    ok, lines = True, []
    for name in REPORT_PAGES:
        counts = []
        for path in (one[name], year[name]):
            client.get(path)  # warm: the first request fills per-process caches
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
            if response.status_code != 200:
                ok = False
                lines.append(f"{name}: {path} answered {response.status_code}")
            counts.append(len(queries))
        same = counts[0] == counts[1]
        ok = ok and same
        lines.append(
            f"{name:<10} queries for 1 day: {counts[0]:>3}, for {DAYS} days: {counts[1]:>3}"
            f"  {'same' if same else 'DIFFERENT'}"
        )
    return ok, lines


def session_cookie(owner) -> dict[str, str]:
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(owner)
    name = settings.SESSION_COOKIE_NAME
    return {"Cookie": f"{name}={client.cookies[name].value}"}


def print_results(pages, results, rebuild, started) -> bool:
    floor = results["bare"]
    ok = True
    print(f"\n{'page':<18}{'path':<44}{'ok':>6}{'err':>5}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}"
          f"{'vs bare':>9}{'cpu ms':>8}{'cpu vs bare':>13}")  # fmt: skip
    print("-" * 127)
    for name, path in pages.items():
        r = results[name]
        share = r["rps"] / floor["rps"] if floor["rps"] else 0.0
        cpu = r.get("cpu_ms")
        cpu_share = floor.get("cpu_ms", 0) / cpu if cpu else float("nan")
        shown = path if len(path) <= 42 else path[:41] + "…"
        print(
            f"{name:<18}{shown:<44}{r['done']:>6}{len(r['errors']):>5}{r['rps']:>8.0f}"
            f"{r['p50']:>8.1f}{r['p95']:>8.1f}{share:>9.0%}{cpu or float('nan'):>8.2f}"
            f"{cpu_share:>13.0%}"
        )
        if r["errors"] or not r["done"]:
            ok = False
            print(f"    errors: {sorted(set(r['errors']))[:5]}")
        if name != "bare":
            # the goal on server CPU (steady on shared cores); req/s shown beside it
            met = (cpu_share if cpu else share) >= GOAL_SHARE
            ok = ok and met
            if not met:
                print(f"    under {GOAL_SHARE:.0%} of the bare view")
    print()
    for days in (28, DAYS):
        big, tenth = results.get(f"overview-{days}"), results.get(f"tenth-overview-{days}")
        if big and tenth and tenth["p50"]:
            ratio = big["p50"] / tenth["p50"]
            cpu_ratio = (
                big["cpu_ms"] / tenth["cpu_ms"]
                if big.get("cpu_ms") and tenth.get("cpu_ms")
                else None
            )
            met = ratio <= GOAL_RATIO
            ok = ok and met
            cpu_text = f", by cpu ms {cpu_ratio:.2f}" if cpu_ratio else ""
            print(
                f"overview {days:>3} days: big {big['p50']:.1f} ms / tenth"
                f" {tenth['p50']:.1f} ms (p50) = {ratio:.2f}{cpu_text}"
                f"  (goal ≤ {GOAL_RATIO}): {'met' if met else 'NOT met'}"
            )
    if rebuild is not None:
        print(f"rebuild of the big business's rollups: {rebuild:.1f} s")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every count")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="the PostgreSQL server to make the throw-away database on",
    )
    parser.add_argument("--requests", type=int, default=300, help="per URL, Python client")
    parser.add_argument("--seconds", type=float, default=5, help="per URL, wrk client")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    with throwaway_postgres(args.postgres, "insights") as database_url:
        return run(args, database_url)


def run(args, database_url: str) -> int:
    import shutil

    started = time.monotonic()
    var_dir = Path(tempfile.mkdtemp(prefix="conversa-bench-insights-"))
    env = server_environment(var_dir, database_url)
    try:
        setup_django(env)
        from django.core.management import call_command
        from django.db import connections
        from django.utils import timezone

        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        log("migrated", started)
        owner, shops = create_businesses(args.scale)
        log("businesses, agents, products and campaigns made through the services", started)
        totals = generate(shops, owner=owner, started=started, now=timezone.now())
        log(
            "written: " + ", ".join(f"{v:,} {k}" for k, v in totals.items()) + " (all businesses)",
            started,
        )
        ok = True
        rebuild = time_rebuild(shops, started)
        ok = ok and rebuild is not None
        big, tenth = shops[0]["business"].slug, shops[1]["business"].slug
        if report_paths(big, 28) is None:
            log(f"the report pages are not there yet ({', '.join(REPORT_PAGES.values())})", started)
            log(f"total {time.monotonic() - started:.0f} s; goals NOT measured", started)
            return 1
        same, lines = check_query_counts(owner, big)
        print("\n".join(lines))
        ok = ok and same
        headers = session_cookie(owner)
        pages = {"bare": "/bare"}
        for days in (28, DAYS):
            pages[f"overview-{days}"] = report_paths(big, days)["overview"]
            pages[f"tenth-overview-{days}"] = report_paths(tenth, days)["overview"]
        for name, path in report_paths(big, DAYS).items():
            if name != "overview":
                pages[f"{name}-{DAYS}"] = path
        connections.close_all()
        client = args.client
        if client == "auto":
            client = "wrk" if shutil.which("wrk") else "python"
        log(f"loading {len(pages)} URLs with {client}", started)
        results = run_server_bench(
            env, var_dir, pages, requests=args.requests, seconds=args.seconds,
            concurrency=args.concurrency, client=client, headers=headers,
            on_url=lambda name: log(f"  {name}", started),
        )  # fmt: skip
        ok = print_results(pages, results, rebuild, started) and ok
        print(f"\ntotal {time.monotonic() - started:.0f} s; goals {'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    finally:
        clean_up(var_dir, args.keep)


if __name__ == "__main__":
    sys.exit(main())
