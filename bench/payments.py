"""Paying orders under load: payments/s through the real pay form, against a floor.

    .venv/bin/python bench/payments.py                     # PostgreSQL on 127.0.0.1, Redis
    .venv/bin/python bench/payments.py --orders 20         # more payments per payer
    .venv/bin/python bench/payments.py --redis ""          # the embedded local-memory cache
    PATH=/tmp/pyspy/bin:$PATH .venv/bin/python bench/payments.py --profile

One command, nothing to set up: it makes a throw-away PostgreSQL database on
``--postgres`` (``conversa_bench_payments_<random>``, dropped afterwards) and a
temporary ``VAR_DIR``, migrates, and builds through the services a few businesses
with a product each, ``--clients`` customers each with a conversation, a 4242 card
(``cards.add_card`` through the sandbox gateway), a payment PIN (``pins.set_pin``)
and ``--orders`` payment requests (``orders.create_payment_request``), plus a
database session per customer as after a sign-in. It then starts the production-like
server (uvicorn, 1 worker, DEBUG=0, the Redis cache at ``--redis`` under a key prefix
of its own) with a settings module written into the temporary directory that adds
``/bench-insert`` — a view inserting one row into a table of its own inside
``transaction.atomic()``: the floor — to the project's URLs.

``--clients`` threads, one keep-alive connection and one session each, then POST
in the same run: the floor (``/bench-insert``), the pay form of their own orders
(``/orders/<id>/pay/``: card, ``confirmation=pin``, the PIN, a fresh ``attempt``;
all orders distinct), and the floor again. It prints payments/s, p50/p95 latency,
the server's CPU per request (``/proc``), payments/s as a share of the floor's
requests/s (goal: ≥ 20 %, issue #23) and the server CPU per payment, and then checks
the ledger: every transaction sums to zero, every account's cached
balance is the sum of its entries, succeeded payments = card_payment postings = paid
orders = payments made, and each merchant's payable is Σ(amount − fee).

Every PIN is set by ``pins.set_pin`` with the production settings: the production
PIN hash (scrypt of the peppered HMAC, ~4 ms, docs/payments.md "PIN storage"), checked
on every payment. Exit 1 on an imbalance, a failed request, or the goal missed. The
server is stopped, the Redis keys of the run, the database and the directory
removed, whatever happened.
"""

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chat import PySpy, server_process
from pages import clean_up, cpu_seconds, server_environment, throwaway_postgres

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.20  # payments/s as a share of the floor's requests/s (issue #23)
PIN = "480517"
CSRF = "benchpaymentscsrftoken0123456789"  # a 32-character CSRF secret, cookie and form
REQUEST_TIMEOUT = 120.0

SETTINGS_OVERRIDE = """\
from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench_payments_urls"
"""

URLS_OVERRIDE = """\
from django.db import connection, transaction
from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def bench_insert(request):
    \"\"\"The floor: one INSERT in a transaction (a POST through the same middleware,
    CSRF included, as the pay form).\"\"\"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_insert (client, n) VALUES (%s, %s)",
            [request.POST.get("client", ""), int(request.POST.get("n", 0))],
        )
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench-insert", bench_insert), *project_urlpatterns]
"""

FLOOR_TABLE = """
CREATE TABLE bench_insert (
    id bigserial PRIMARY KEY,
    client text NOT NULL,
    n integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


# --- Setup ------------------------------------------------------------------------


def environment(var_dir: Path, args, database_url: str, prefix: str) -> dict[str, str]:
    """The production-like settings (``pages.server_environment``) with the bench's
    settings and URL modules from ``var_dir``; shared by this process and the server."""
    env = server_environment(var_dir, database_url)
    env.update(
        DJANGO_SETTINGS_MODULE="bench_payments_settings",
        PYTHONPATH=f"{var_dir}{os.pathsep}{ROOT}",
        # 32 clients on one process's 10 connections queue for them: the production
        # 1.5 s wait (a quick 503 during an outage) turned 10-15 % of the payments into
        # 503s on a loaded machine. This measures throughput, not load shedding.
        DATABASE_POOL_TIMEOUT="10",
    )
    if args.redis:
        env.update(REDIS_URL=args.redis, REDIS_KEY_PREFIX=prefix)
    (var_dir / "bench_payments_settings.py").write_text(SETTINGS_OVERRIDE)
    (var_dir / "bench_payments_urls.py").write_text(URLS_OVERRIDE)
    return env


@dataclass
class Payer:
    """A customer: session, card, and the orders it pays (the first one in the warm-up)."""

    name: str
    session: str
    card: int
    orders: list[int]


def load_payers(args) -> list[Payer]:
    """Businesses, customers, cards, PINs and orders, through the services."""
    import datetime

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts import services as account_services
    from accounts.models import User
    from catalog import services as catalog_services
    from chats.services.conversations import start_conversation
    from payments.gateway import CardDetails
    from payments.services import cards, orders, pins

    shops = []
    for b in range(args.businesses):
        owner = User.objects.create_user(email=f"owner{b}@bench.invalid", display_name=f"Owner {b}")
        business = account_services.create_business(
            user=owner, name=f"Loja {b}", slug=f"loja-bench-{b}"
        )
        product = catalog_services.create_product(
            actor=owner,
            business=business,
            name=f"Café {b}",
            description="Café torrado hoje.",
            retailer_id=f"CAFE-{b}",
            price=1990 + 10 * b,
            stock=10**6,
        )
        shops.append((owner, business, product))
    next_year = datetime.date.today().year + 1

    def payer(n: int, orders_each: int) -> Payer:
        owner, business, product = shops[n % len(shops)]
        customer = User.objects.create_user(
            email=f"customer{n}@bench.invalid", display_name=f"Customer {n}"
        )
        conversation, _created = start_conversation(customer=customer, business=business)
        card = cards.add_card(
            user=customer,
            details=CardDetails(
                number="4242424242424242",
                exp_month=12,
                exp_year=next_year,
                cvc="123",
                holder_name=f"Customer {n}",
            ),
        )
        pins.set_pin(user=customer, pin=PIN, pin_again=PIN)  # the production hash
        order_ids = []
        for k in range(orders_each):
            order = orders.create_payment_request(
                actor=owner,
                conversation=conversation,
                lines=[
                    {"product_id": product.pk, "quantity": 1 + k % 3},
                    {"name": "Embalagem", "unit_price": 101 + (n * 37 + k * 11) % 900},
                ],
                shipping=990 if k % 2 else 0,
            )
            order_ids.append(order.pk)
        store = SessionStore()
        store[SESSION_KEY] = str(customer.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = customer.get_session_auth_hash()
        store.create()
        return Payer(f"customer{n}", store.session_key, card.pk, order_ids)

    rounds = 3 if args.webhooks else 1  # with --webhooks: two more rounds of orders
    return [payer(n, 1 + rounds * args.orders) for n in range(args.clients)]


def prepare(env: dict[str, str], args) -> list[Payer]:
    os.environ.clear()
    os.environ.update(env)
    sys.path[:0] = [env["VAR_DIR"], str(ROOT)]
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", verbosity=0, interactive=False)
    # With DEBUG=0 static URLs come from the manifest (the chat cards draw icons).
    call_command("collectstatic", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_TABLE)
    payers = load_payers(args)
    connections.close_all()
    return payers


class NonBlockingPySpy(PySpy):
    """chat.py's py-spy recorder with ``--nonblocking``: stopping the server for each
    sample, as py-spy does by default, stretches the time its transactions hold row
    locks and makes the payments pile up behind them (0.8 instead of 14 payments/s).
    ``gil``: only the samples of the thread holding the GIL (``--gil``), i.e. where
    the server's Python CPU goes, without the threads waiting on the database."""

    def __init__(self, pid: int, var_dir: Path, enabled: bool, gil: bool = False):
        super().__init__(pid, var_dir, enabled)
        self.gil = gil

    def start(self) -> None:
        if self.exe is None:
            return
        self.recorder = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                self.exe,
                "record",
                "--format=raw",
                "--threads",
                "--nonblocking",
                *(["--gil"] if self.gil else []),
                "--rate=100",
                f"--output={self.out}",
                f"--pid={self.pid}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


# --- The clients ------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    paid: int = 0  # pay requests answered with the redirect to the chat
    server_cpu: float | None = None
    client_cpu: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        values = sorted(self.latencies)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))] * 1000

    @property
    def cpu_ms(self) -> float | None:
        if self.server_cpu is None or not self.ok:
            return None
        return self.server_cpu * 1000 / self.ok


def post(conn: http.client.HTTPConnection, path: str, session: str, fields: dict) -> tuple:
    body = urlencode({**fields, "csrfmiddlewaretoken": CSRF})
    conn.request(
        "POST",
        path,
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"sessionid={session}; csrftoken={CSRF}",
            "Accept-Language": "pt-BR",
        },
    )
    response = conn.getresponse()
    return response.status, response.getheader("Location") or "", response.read()


def floor_request(conn, payer: Payer, n: int) -> str | None:
    status, _location, body = post(
        conn, "/bench-insert", payer.session, {"client": payer.name, "n": n}
    )
    return None if status == 200 else f"bench-insert: HTTP {status} {body[:200]!r}"


def pay_request(conn, payer: Payer, order_id: int) -> str | None:
    status, location, body = post(
        conn,
        f"/orders/{order_id}/pay/",
        payer.session,
        {
            "card": payer.card,
            "confirmation": "pin",
            "pin": PIN,
            "attempt": uuid.uuid4().hex,
        },
    )
    if status == 302 and "/chats/" in location:
        return None
    return f"pay order {order_id}: HTTP {status} {location} {error_text(body)}"


def error_text(body: bytes) -> str:
    """The form's error message on a 400 (the review page), else the start of the body."""
    text = body.decode(errors="replace")
    for marker in ('role="alert"', "errorlist", "invalid-feedback"):
        at = text.find(marker)
        if at >= 0:
            return " ".join(text[at : at + 300].split())
    return " ".join(text[:200].split())


def run_phase(name: str, port: int, server_pid: int, work: list[list]) -> Phase:
    """One thread per client, each with its own keep-alive connection, doing its list
    of ``(function, *arguments)`` calls one after the other; all start together."""
    phase = Phase(name)
    lock = threading.Lock()
    start = threading.Barrier(len(work) + 1)

    def client(calls: list) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        start.wait()
        for fn, *arguments in calls:
            began = time.perf_counter()
            try:
                error = fn(conn, *arguments)
            except (OSError, http.client.HTTPException) as exc:
                error = f"{fn.__name__}: {exc!r}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
            took = time.perf_counter() - began
            with lock:
                if error:
                    phase.errors.append(error)
                else:
                    phase.latencies.append(took)
                    phase.paid += fn is pay_request
        conn.close()

    threads = [threading.Thread(target=client, args=(calls,), daemon=True) for calls in work]
    for thread in threads:
        thread.start()
    cpu_before, client_before = cpu_seconds(server_pid), time.process_time()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    phase.elapsed = time.perf_counter() - began
    cpu_after = cpu_seconds(server_pid)
    if cpu_before is not None and cpu_after is not None:
        phase.server_cpu = cpu_after - cpu_before
    phase.client_cpu = time.process_time() - client_before
    return phase


def print_phase(phase: Phase, header: bool = False) -> None:
    if header:
        head = (
            f"{'phase':<26}{'ok':>6}{'err':>5}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
            f"{'max ms':>9}{'cpu ms':>8}{'client ms':>10}"
        )
        print("\n" + head + "\n" + "-" * len(head))
    cpu = f"{phase.cpu_ms:.2f}" if phase.cpu_ms is not None else "n/a"
    client = phase.client_cpu * 1000 / phase.ok if phase.ok else float("nan")
    print(
        f"{phase.name:<26}{phase.ok:>6}{len(phase.errors):>5}{phase.rate:>9.1f}"
        f"{phase.percentile(0.50):>9.1f}{phase.percentile(0.95):>9.1f}"
        f"{phase.percentile(1.0):>9.1f}{cpu:>8}{client:>10.2f}"
    )


# --- The ledger -------------------------------------------------------------------


def check_ledger(expected_payments: int) -> list[str]:
    """Every invariant the payments must keep; the list of what is wrong (empty: fine)."""
    from django.db import connection
    from django.db.models import Count, F, Sum

    from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction, Order, Payment
    from payments.services.ledger import CARD_PAYMENT

    problems = []
    unbalanced = (
        LedgerEntry.objects.values("transaction_id")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .count()
    )
    if unbalanced:
        problems.append(f"{unbalanced} ledger transactions do not sum to zero")
    mixed = (
        LedgerEntry.objects.exclude(account__currency=F("transaction__currency"))
        .values("transaction_id")
        .distinct()
        .count()
    )
    if mixed:
        problems.append(f"{mixed} ledger transactions mix currencies")
    for account in LedgerAccount.objects.annotate(entries_sum=Sum("entries__amount")):
        if account.balance != (account.entries_sum or 0):
            problems.append(
                f"account {account.code}: cached balance {account.balance} ≠ "
                f"entries {account.entries_sum or 0}"
            )
        if not account.is_system and account.balance < 0:
            problems.append(f"account {account.code} is below zero: {account.balance}")
    succeeded = Payment.objects.filter(status=Payment.Status.SUCCEEDED)
    counts = {
        "pay requests answered with success": expected_payments,
        "succeeded payments": succeeded.count(),
        "card_payment postings": LedgerTransaction.objects.filter(kind=CARD_PAYMENT).count(),
        "paid orders": Order.objects.filter(
            status=Order.Status.PROCESSING, paid_at__isnull=False
        ).count(),
    }
    if len(set(counts.values())) != 1:
        problems.append("counts differ: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    others = Payment.objects.exclude(status=Payment.Status.SUCCEEDED).count()
    if others:
        problems.append(f"{others} payments are not succeeded (pending or failed)")
    twice = succeeded.values("order_id").annotate(n=Count("id")).filter(n__gt=1).count()
    if twice:
        problems.append(f"{twice} orders were paid more than once")
    for row in succeeded.values("business_id", "currency").annotate(
        net=Sum(F("amount") - F("fee")), amount=Sum("amount"), fee=Sum("fee")
    ):
        code = f"merchant:{row['business_id']}:{row['currency']}"
        payable = LedgerAccount.objects.filter(code=code).values_list("balance", flat=True).first()
        if payable != row["net"]:
            problems.append(f"{code}: payable {payable} ≠ Σ(amount − fee) {row['net']}")
    totals = succeeded.aggregate(amount=Sum("amount"), fee=Sum("fee"))
    system = dict(
        LedgerAccount.objects.filter(is_system=True).values_list("kind").annotate(Sum("balance"))
    )
    if system.get("clearing", 0) != -(totals["amount"] or 0):
        problems.append(f"clearing {system.get('clearing')} ≠ −Σ amount {totals['amount']}")
    if system.get("revenue", 0) != (totals["fee"] or 0):
        problems.append(f"fee revenue {system.get('revenue')} ≠ Σ fee {totals['fee']}")
    connection.close()
    summary = (
        f"{counts['succeeded payments']} succeeded payments, "
        f"{counts['card_payment postings']} card_payment postings, "
        f"{counts['paid orders']} paid orders; Σ amount {totals['amount'] or 0}, "
        f"Σ fee {totals['fee'] or 0} (minor units)"
    )
    print("\nledger: " + summary)
    return problems


# --- Main -------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent payers (32)")
    parser.add_argument(
        "--orders", type=int, default=10, help="orders each payer pays, after one warm-up (10)"
    )
    parser.add_argument("--businesses", type=int, default=4, help="businesses (4)")
    parser.add_argument(
        "--floor-requests", type=int, default=20, help="floor requests per client, each time (20)"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server for the throw-away database",
    )
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/0",
        help="Redis for the cache (the sandbox gateway's charges), channel layer and "
        "Celery, under a key prefix of the run's; '' for the embedded defaults",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (1)")
    parser.add_argument("--profile", action="store_true", help="py-spy the measured payments")
    parser.add_argument(
        "--gil",
        action="store_true",
        help="with --profile: sample only the thread holding the GIL (CPU, not waits)",
    )
    parser.add_argument(
        "--webhooks",
        action="store_true",
        help="then as many payments again in four phases: without, with, with and without "
        "a webhook endpoint per business (bench/webhooks.py compares the two)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if args.workers > 1 and not args.redis:
        parser.error("--workers > 1 needs --redis (the sandbox keeps charges in the cache)")
    with throwaway_postgres(args.postgres, "payments") as database_url:
        return run(args, database_url)


def run(args, database_url: str) -> int:
    var_dir = Path(tempfile.mkdtemp(prefix="conversa-payments-bench-"))
    prefix = "conversa-bench-" + os.urandom(4).hex()
    env = environment(var_dir, args, database_url, prefix)
    redis_client = None
    if args.redis:
        import redis

        redis_client = redis.Redis.from_url(args.redis)
    started = time.monotonic()
    try:
        measured = prepare(env, args)
        print(
            f"{len(measured)} payers × {args.orders} orders (+1 warm-up each), "
            f"{args.businesses} businesses, production PIN hash; "
            f"set up in {time.monotonic() - started:.1f} s ({var_dir})"
        )
        with server_process(env, var_dir, args.workers, "config.asgi:application") as (
            server,
            port,
        ):
            phases = drive(args, port, server.pid, measured, var_dir)
        return report(args, phases)
    finally:
        clean_up(var_dir, args.keep, redis_client, prefix)
        print(f"total time {time.monotonic() - started:.1f} s")


def set_webhook_endpoints(*, enabled: bool) -> None:
    """An endpoint (every event type) for each business, through the services, as a
    merchant adds, disables or enables one: while enabled each payment writes its
    events and deliveries (``order.paid``, the receipt's ``message.created``) and
    enqueues their sender. No worker sends them here: this measures what a payment
    pays, not the delivery."""
    from django.db import connections

    from accounts.models import Membership
    from webhooks.models import Endpoint
    from webhooks.services import endpoints

    for membership in Membership.objects.filter(role=Membership.Role.OWNER).select_related(
        "user", "business"
    ):
        endpoint = Endpoint.objects.filter(business=membership.business).first()
        if endpoint is None:
            endpoint = endpoints.create_endpoint(
                actor=membership.user,
                business=membership.business,
                url="https://hooks.bench.invalid/conversa",
            )
        endpoints.set_enabled(actor=membership.user, endpoint=endpoint, enabled=enabled)
    connections.close_all()


def drive(args, port, pid, measured, var_dir) -> dict[str, Phase]:
    def floor_work() -> list[list]:
        return [[(floor_request, p, n) for n in range(args.floor_requests)] for p in measured]

    phases = {}
    phases["warm-up"] = run_phase(
        "warm-up",
        port,
        pid,
        [[(floor_request, p, -1), (pay_request, p, p.orders[0])] for p in measured],
    )
    phases["floor"] = run_phase("floor /bench-insert", port, pid, floor_work())
    profiler = NonBlockingPySpy(pid, var_dir, args.profile, gil=args.gil)
    profiler.start()
    phases["pay"] = run_phase(
        "pay (production PIN hash)",
        port,
        pid,
        [[(pay_request, p, order) for order in p.orders[1 : 1 + args.orders]] for p in measured],
    )
    profiler.stop()
    phases["floor again"] = run_phase("floor /bench-insert again", port, pid, floor_work())
    if args.webhooks:
        # Without, with, with, without (ABBA): a drift of the server or the machine
        # during the four phases weighs the same on both sides.
        extra = [p.orders[1 + args.orders :] for p in measured]
        quarter = args.orders // 2
        for n, hooked in enumerate((False, True, True, False)):
            if n in (1, 3):
                set_webhook_endpoints(enabled=hooked)
            phases[f"webhooks {n}"] = run_phase(
                f"pay, {'a webhook endpoint' if hooked else 'no endpoint'}",
                port,
                pid,
                [
                    [(pay_request, p, o) for o in orders[n * quarter : (n + 1) * quarter]]
                    for p, orders in zip(measured, extra, strict=True)
                ],
            )
    return phases


def report(args, phases: dict[str, Phase]) -> int:
    print(
        f"\n{args.clients} concurrent clients (threads, a keep-alive connection and a session "
        f"each); uvicorn, {args.workers} worker(s), DEBUG=0, PostgreSQL (pooled), "
        f"{'Redis' if args.redis else 'local-memory'} cache; {os.cpu_count()} CPUs"
    )
    for n, phase in enumerate(phases.values()):
        print_phase(phase, header=n == 0)
    errors = [e for phase in phases.values() for e in phase.errors]
    pay = phases["pay"]
    floor = statistics.mean([phases["floor"].rate, phases["floor again"].rate])
    ratio = pay.rate / floor if floor else 0.0
    print(
        f"\nfloor (mean of both runs) {floor:.1f} req/s; payments {pay.rate:.1f}/s "
        f"= {ratio:.1%} of the floor (goal ≥ {GOAL:.0%}), p95 {pay.percentile(0.95):.0f} ms"
    )
    floor_cpu = [c for c in (phases["floor"].cpu_ms, phases["floor again"].cpu_ms) if c]
    if pay.cpu_ms and floor_cpu:
        print(
            f"server cpu per request: payment {pay.cpu_ms:.2f} ms, floor "
            f"{statistics.mean(floor_cpu):.2f} ms ({statistics.mean(floor_cpu) / pay.cpu_ms:.1%})"
        )
    quarters = [phases.get(f"webhooks {n}") for n in range(4)]
    if all(q is not None and q.ok and q.server_cpu is not None for q in quarters):

        def pooled(*some: Phase) -> tuple[float, float]:  # payments/s, server cpu ms each
            done, cpu = sum(q.ok for q in some), sum(q.server_cpu for q in some)
            return done / sum(q.elapsed for q in some), cpu * 1000 / done

        (rate, cpu_ms), (hooked_rate, hooked_cpu) = pooled(*quarters[::3]), pooled(*quarters[1:3])
        slower, cpu = 1 - hooked_rate / rate, hooked_cpu / cpu_ms - 1
        print(
            f"without an endpoint {rate:.1f} payments/s, {cpu_ms:.2f} ms server cpu each; "
            f"with one {hooked_rate:.1f}/s ({slower:+.1%} slower), {hooked_cpu:.2f} ms ({cpu:+.1%})"
        )
        print(f"WEBHOOKS_COST rate={slower:.4f} cpu={cpu:.4f}")
    # Every pay request answered with success paid its order (failures: see errors).
    paid = [phase.paid for phase in phases.values()]
    problems = check_ledger(sum(paid))
    ok = True
    if errors:
        ok = False
        print(f"\n{len(errors)} failed requests, e.g.:")
        for error in sorted(set(errors))[:5]:
            print("  " + error[:400])
    if problems:
        ok = False
        print("\nLEDGER CHECK FAILED:")
        for problem in problems:
            print("  " + problem)
    else:
        print(
            "ledger check: every transaction sums to zero, balances equal their entries, "
            "payments = postings = paid orders, payables = Σ(amount − fee): zero imbalance"
        )
    met = ratio >= GOAL
    print(
        f"\ngoal (payments ≥ {GOAL:.0%} of the floor, production PIN hash): "
        f"{'met' if met else 'NOT met'} ({ratio:.1%})"
    )
    return 0 if ok and met else 1


if __name__ == "__main__":
    sys.exit(main())
