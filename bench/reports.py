"""The Insights report pages (Overview, Chats that sell, the drill-down and the CSV
exports) on a year of data, and on ten times as much.

    .venv/bin/python bench/reports.py                        # 3,000 and 30,000 conversations
    .venv/bin/python bench/reports.py --conversations 1000   # a quicker run
    .venv/bin/python bench/reports.py --postgres URL         # another PostgreSQL server

One command, nothing to set up: a throw-away PostgreSQL database on ``--postgres``
(``conversa_bench_reports_<random>``, dropped afterwards) and a temporary ``VAR_DIR``.
It migrates and makes two businesses through the services — "small" with
``--conversations`` conversations spread over the last 365 days, "large" with ten
times as many — whose users, contacts, conversations and rollup rows
(``ConversationFact``, ``ActivityDay`` and the ``DailyFigure`` sums of those facts, as
``insights.services.rollups`` keeps them) are bulk inserts: set-up only; the rollups'
own cost is not what this measures.

For each page it then asks, in this process through Django's test client (signed in
as the owner, ``DEBUG=0``), the last 365 days and today, and prints the queries of
each and the median server time of ``--repeat`` requests (after one warm-up) for both
businesses, their requests interleaved. Goals (exit 1 when missed): the same number
of queries for 1 day and 365 days on every page, and a page on 10× the data at most
1.5× slower (the CSV of every conversation is exempt: it is one row per conversation,
streamed, so it grows with them by design; its time is printed).
"""

import argparse
import contextlib
import datetime
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import clean_up, server_environment, setup_django, throwaway_postgres

GOAL_RATIO = 1.5
DAYS = 365
PAGES = {
    "overview": ("insights_overview", ()),
    "sales": ("insights_sales", ()),
    "conversations": ("insights_conversations", ()),
    "export sales_source": ("insights_export", ("sales_source",)),
    "conversations.csv": ("insights_conversations_csv", ()),
}
EXEMPT = {"conversations.csv"}
SOURCES = ["", "instagram", "google", "facebook", "newsletter"]
BUCKETS = [(60, "lt5m"), (1200, "5-60m"), (7200, "1-4h"), (30000, "4-24h"), (100000, "gt24h")]


def build(owner, slug: str, conversations: int, seed: int):
    """A business with ``conversations`` conversations over the last year, their facts,
    activity and daily figures (bulk inserts)."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from accounts import services as account_services
    from accounts.models import User
    from catalog import services as catalog_services
    from chats.models import Contact, Conversation
    from insights.models import ActivityDay, Campaign, ConversationFact, DailyFigure

    rng = random.Random(seed)
    business = account_services.create_business(user=owner, name=slug.title(), slug=slug)
    products = [
        catalog_services.create_product(
            actor=owner, business=business, name=f"Produto {n}", retailer_id=f"P{n}",
            price=1_000 + 100 * n,
        )
        for n in range(20)
    ]  # fmt: skip
    campaigns = Campaign.objects.bulk_create(
        [Campaign(business=business, name=f"Campanha {n}", code=f"c{n}",
                  currency=business.currency) for n in range(10)]
    )  # fmt: skip
    tz = business.tz
    now = timezone.now()
    password = make_password(None)
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(email=f"{slug}{i}@bench.example", display_name=f"Cliente {i}",
                  password=password) for i in range(conversations)],
            batch_size=2000,
        )  # fmt: skip
        contacts = Contact.objects.bulk_create(
            [Contact(business=business, user=u) for u in users], batch_size=2000
        )
        starts = [now - datetime.timedelta(seconds=rng.randrange(DAYS * 86400))
                  for _ in contacts]  # fmt: skip
        convs = Conversation.objects.bulk_create(
            [Conversation(kind="business", business=business, contact=c, created_at=t)
             for c, t in zip(contacts, starts, strict=True)],
            batch_size=2000,
        )  # fmt: skip
        facts, activity = [], []
        figures = defaultdict(lambda: defaultdict(int))
        for conv, started in zip(convs, starts, strict=True):
            local = started.astimezone(tz)
            outcome = rng.choices(["bought", "unpaid", "none"], [2, 2, 6])[0]
            response = rng.choice([None, *[b[0] for b in BUCKETS]])
            bucket = next((k for s, k in BUCKETS if s == response), "none")
            gross = rng.randrange(2_000, 20_000) if outcome == "bought" else 0
            fee = gross * 399 // 10_000
            fact = ConversationFact(
                conversation=conv, business=business, started_at=started,
                started_on=local.date(), started_hour=local.hour,
                source=rng.choice(SOURCES), campaign=rng.choice([None, *campaigns]),
                product=rng.choice([None, None, *products]),
                agent=rng.choice([None, owner]), first_customer_at=started,
                first_response_seconds=response,
                first_response_at=None if response is None
                else started + datetime.timedelta(seconds=response),
                outcome=outcome, requests=int(outcome != "none"),
                paid_orders=int(outcome == "bought"), revenue=gross - fee,
            )  # fmt: skip
            facts.append(fact)
            for n in range(rng.randint(1, 3)):
                activity.append(ActivityDay(
                    business=business, conversation=conv,
                    day=local.date() + datetime.timedelta(days=n),
                    incoming=rng.randint(0, 4), outgoing=rng.randint(0, 4),
                ))  # fmt: skip
            keys = [
                ("total", ""), ("source", fact.source),
                ("campaign", str(fact.campaign.pk) if fact.campaign else ""),
                ("agent", str(owner.pk) if fact.agent else ""),
                ("hour", str(local.hour)), ("response", bucket),
            ]  # fmt: skip
            if fact.product:
                keys.append(("product", str(fact.product.pk)))
            for dim, key in keys:
                row = figures[(local.date(), dim, key)]
                row["conversations"] += 1
                row["bought"] += outcome == "bought"
                row["unpaid"] += outcome == "unpaid"
                row["requests"] += outcome != "none"
                row["paid"] += outcome == "bought"
                row["gross"] += gross
                row["fee"] += fee
        ConversationFact.objects.bulk_create(facts, batch_size=2000)
        ActivityDay.objects.bulk_create(activity, batch_size=2000)
        DailyFigure.objects.bulk_create(
            [DailyFigure(business=business, day=day, dim=dim, key=key, **sums)
             for (day, dim, key), sums in figures.items()],
            batch_size=2000,
        )  # fmt: skip
    return business


def one(client, url: str) -> tuple[int, float]:
    """(queries, ms) of one request of ``url``, a streamed body read to the end."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(url)
        if response.streaming:
            for _chunk in response.streaming_content:
                pass
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code}")
    return len(ctx.captured_queries), elapsed * 1000


def measure(client, businesses: dict, repeat: int) -> list[dict]:
    """Per page: the queries for today and for the year, and the median time of the
    year for each business, their requests interleaved (the machine's load, shared
    with other jobs, then weighs on both alike)."""
    from django.urls import reverse
    from django.utils import timezone

    rows = []
    for page, (name, args) in PAGES.items():
        row = {"page": page}
        urls = {}
        for size, business in businesses.items():
            today = timezone.now().astimezone(business.tz).date()
            year = f"range=custom&from={today - datetime.timedelta(days=DAYS - 1)}&to={today}"
            url = reverse(name, args=[business.slug, *args])
            row[f"{size} queries 1 day"], _ms = one(client, f"{url}?range=today")
            urls[size] = f"{url}?{year}"
            row[f"{size} queries"], _ms = one(client, urls[size])  # and a warm-up
        times = defaultdict(list)
        for _ in range(repeat):
            for size, url in urls.items():
                times[size].append(one(client, url)[1])
        for size, values in times.items():
            row[f"{size} ms"] = statistics.median(values)
        rows.append(row)
    return rows


def report(rows: list[dict], conversations: int) -> int:
    print(f"\n{'page':22} {'queries 1 d / 365 d':>20} {'small ms':>9} {'large ms':>9} "
          f"{'ratio':>6}  ({conversations:,} vs {10 * conversations:,} conversations)")  # fmt: skip
    failed = False
    for r in rows:
        same = r["small queries 1 day"] == r["small queries"] == r["large queries"]
        ratio = r["large ms"] / r["small ms"] if r["small ms"] else 0.0
        slow = r["page"] not in EXEMPT and ratio > GOAL_RATIO
        failed |= slow or not same
        counts = f"{r['small queries 1 day']} / {r['small queries']}"
        if r["large queries"] != r["small queries"]:
            counts += f" ({r['large queries']} large)"
        mark = "" if same and not slow else "  <-- missed"
        note = "  (exempt: a row per conversation)" if r["page"] in EXEMPT else ""
        print(f"{r['page']:22} {counts:>20} {r['small ms']:9.1f} {r['large ms']:9.1f} "
              f"{ratio:6.2f}{mark}{note}")  # fmt: skip
    print("\ngoal: the same queries for 1 and 365 days; at most "
          f"{GOAL_RATIO}× slower on 10× the data: {'MISSED' if failed else 'met'}")  # fmt: skip
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--conversations",
        type=int,
        default=3_000,
        help="conversations of the small business (3000; the large: 10×)",
    )
    parser.add_argument("--repeat", type=int, default=9, help="timed requests per URL (9)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server for the throw-away database",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()  # fmt: skip
    with throwaway_postgres(args.postgres, "reports") as database_url:
        return run(args, database_url)


def run(args, database_url: str) -> int:
    var_dir = Path(tempfile.mkdtemp(prefix="conversa-reports-bench-"))
    try:
        setup_django(server_environment(var_dir, database_url))
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from accounts.models import User

        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG=0: the manifest
        started = time.monotonic()
        owner = User.objects.create_user(email="owner@bench.example", display_name="Dona")
        businesses = {
            "small": build(owner, "small", args.conversations, seed=1),
            "large": build(owner, "large", 10 * args.conversations, seed=2),
        }
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would have them
        print(f"set up in {time.monotonic() - started:.1f} s")
        client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="pt-br")
        client.force_login(owner)
        return report(measure(client, businesses, args.repeat), args.conversations)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        clean_up(var_dir, args.keep)


if __name__ == "__main__":
    sys.exit(main())
