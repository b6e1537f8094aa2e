"""Throughput and latency of the public pages, measured against the bare view.

    .venv/bin/python bench/pages.py [--client auto|wrk|python] [--profile] [--only a,b]

One command, nothing to set up: it makes a throw-away SQLite database and media
folder in a temporary directory, migrates, loads a shop of 48 products with photos
in collections, collects the static files (DEBUG=0 uses the manifest storage), then
starts the production-like server (uvicorn, one worker, DEBUG=0) on 127.0.0.1 and
loads each URL over 8 keep-alive connections after a warm-up: the bare view
(``/bare``, the floor), the shop page, the shop page from a campaign link
(``?utm_source=…``: a click recorded on each request) and a product page; then,
signed in (issue #23), the signed-in floor (``/bare/user``: the session and its user
loaded, nothing else), the merchant's inbox of 1,000 conversations, a thread of 500
messages in it, the dashboard's overview, the orders list (120 orders), and the
customer's chat list (61 chats) and thread, all in the same run. It prints
requests/s, p50 and p95 latency, each page's throughput as a share of its floor's
(the goal is at least 50 %) and the server's CPU time per request, then stops the
server and removes the directory, whatever happened. ``--anonymous`` skips the
signed-in data (faster); ``--only inbox,orders`` loads only those pages (and the
floors).

The load comes from ``wrk`` for a fixed time when it is installed, else from Python
threads sending a fixed number of requests (see bench/README.md for the difference).
``--profile`` skips the server and prints each page's CPU time and queries
in-process, then its cProfile, with the same settings, to find the hot spots.
"""

import argparse
import contextlib
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = 48
PHOTOS_PER_PRODUCT = 3
DEADLINE_PER_URL = 30.0  # seconds: a slow page ends its run early rather than the bench hanging
STARTUP_TIMEOUT = 90.0  # a loaded machine (load average 8) took over 30 s
# A campaign link's parameters: the page is the shop's, from the page cache, and each
# request also records a click (insights, buffered: docs/insights.md).
UTM = "?utm_source=instagram&utm_medium=social&utm_campaign=x"
# The signed-in pages' data (issue #23, goal 3): the merchant's inbox holds this many
# conversations, one of them (with the bench's customer) this many messages; the shop
# has this many orders; the customer chats with this many other shops and friends.
CONVERSATIONS = 1000
THREAD_MESSAGES = 500
ORDERS = 120
CUSTOMER_SHOPS = 10
CUSTOMER_FRIENDS = 50
SERVICE_CONVERSATIONS = 120  # the newest, made through the services; the rest bulk-inserted


def server_environment(var_dir: Path, database_url: str = "") -> dict[str, str]:
    """The production-like settings, shared by this process and the server."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "SMTP_URL", "SITE_URL", "PYTHONPATH"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        VAR_DIR=str(var_dir),
        DEBUG="0",
        SECRET_KEY="bench-only-" + os.urandom(16).hex(),
        PAYMENT_PIN_PEPPER="bench-only-" + os.urandom(16).hex(),
        PIX_CALLBACK_SECRET="bench-only-" + os.urandom(16).hex(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


@contextlib.contextmanager
def throwaway_postgres(server_url: str, label: str = ""):
    """A fresh database on the PostgreSQL server at ``server_url``
    (``conversa_bench_<label>_<random>``), dropped afterwards."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(server_url)
    name = "conversa_bench_" + (label + "_" if label else "") + os.urandom(4).hex()
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def delete_prefix(client, prefix: str) -> int:
    """Delete a run's Redis keys (all start with its ``REDIS_KEY_PREFIX``)."""
    deleted = 0
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        deleted += client.delete(key)
    return deleted


def clean_up(var_dir: Path, keep: bool, redis_client=None, prefix: str = "") -> None:
    """The end of a run, whatever happened: its Redis keys deleted, its temporary
    directory removed (or kept, and said so)."""
    if redis_client is not None:
        with contextlib.suppress(Exception):
            delete_prefix(redis_client, prefix)
    if keep:
        print(f"kept {var_dir}")
    else:
        with contextlib.suppress(OSError):
            shutil.rmtree(var_dir)


def setup_django(env: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def load_shop() -> tuple[str, str]:
    """A shop as a merchant would build it, through the services. Returns the URLs
    of its shop page and of one product page."""
    import datetime
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from accounts import services as account_services
    from accounts.models import User
    from catalog import services

    def photo(n: int) -> SimpleUploadedFile:
        buf = io.BytesIO()
        Image.new("RGB", (400, 400), ((n * 37) % 256, (n * 91) % 256, 120)).save(buf, "JPEG")
        return SimpleUploadedFile(f"photo-{n}.jpg", buf.getvalue(), content_type="image/jpeg")

    owner = User.objects.create_user(email="owner@bench.invalid", display_name="Bench Owner")
    business = account_services.create_business(
        user=owner,
        name="Padaria Bench",
        slug="padaria-bench",
        about="Pão fresco todo dia.",
        description="A neighbourhood bakery with a long catalog.",
        city="São Paulo",
        address="Rua das Flores, 100",
        phone="+5511987654321",
        email="contato@bench.invalid",
        website="https://bench.invalid",
        store_url="https://store.bench.invalid",
    )
    account_services.set_opening_hours(
        actor=owner,
        business=business,
        hours=[(day, datetime.time(7), datetime.time(19)) for day in range(6)],
    )
    account_services.set_business_logo(actor=owner, business=business, upload=photo(0))
    collections = [
        services.create_collection(actor=owner, business=business, name=name)
        for name in ("Pães", "Bolos", "Presentes", "Salgados")
    ]
    first = None
    for i in range(1, PRODUCTS + 1):
        price = 990 + 50 * i
        product = services.create_product(
            actor=owner,
            business=business,
            name=f"Produto {i:02}",
            description=f"Produto número {i}, feito hoje.",
            retailer_id=f"SKU-{i:03}",
            price=price,
            compare_at_price=price + 500 if i % 4 == 1 else None,
            stock=0 if i % 5 == 0 else None,
            is_active=i % 11 != 0,
            collection_ids=[c.pk for n, c in enumerate(collections, 2) if i % n == 0],
        )
        services.add_product_photos(
            actor=owner,
            product=product,
            uploads=[photo(i * 10 + n) for n in range(PHOTOS_PER_PRODUCT)],
        )
        first = first or product
    return business.get_absolute_url(), first.get_absolute_url()


def session_cookie(user) -> dict[str, str]:
    """The ``Cookie`` header of a session signed in as ``user`` (saved where the
    server reads its sessions)."""
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return {"Cookie": f"{name}={client.cookies[name].value}"}


def bulk_conversations(business, customers) -> None:
    """A conversation with one message from each of ``customers``, a day old and
    older, inserted in bulk."""
    import datetime

    from django.utils import timezone

    from chats.models import Contact, Conversation, Message, Participant

    contacts = Contact.objects.bulk_create([Contact(business=business, user=u) for u in customers])
    rows = Conversation.objects.bulk_create(
        [Conversation(kind="business", business=business, contact=c) for c in contacts]
    )
    sides = []
    for conversation, user in zip(rows, customers, strict=True):
        sides += [
            Participant(conversation=conversation, user=user, last_read_seq=1),
            Participant(conversation=conversation, business=business, unread=1),
        ]
    sides = Participant.objects.bulk_create(sides)
    start = timezone.now() - datetime.timedelta(days=1)
    messages = Message.objects.bulk_create(
        [
            Message(conversation=c, seq=1, sender=sides[2 * i], author=customers[i],
                    body=f"Oi, vocês têm pão de queijo? ({i})",
                    created_at=start - datetime.timedelta(minutes=i))
            for i, c in enumerate(rows)
        ]
    )  # fmt: skip
    for conversation, message in zip(rows, messages, strict=True):
        conversation.last_seq, conversation.last_message = 1, message
        conversation.last_message_at = message.created_at
    Conversation.objects.bulk_update(rows, ["last_seq", "last_message", "last_message_at"])


def load_signed_in(shop_slug: str) -> dict[str, tuple[str, dict[str, str]]]:
    """The shop's inbox, orders and a long thread, and a customer's chats, built
    through the services (only the customers' accounts are bulk-inserted: sign-up is
    not what is measured). Returns the signed-in pages: name → (path, headers)."""
    from django.test.utils import override_settings

    from accounts import services as account_services
    from accounts.models import Business, User
    from catalog.models import Product
    from chats.models import Conversation
    from chats.services import conversations, inbox
    from chats.services import messages as chat_messages
    from chats.services import settings as chat_settings
    from payments.models import Order
    from payments.services import orders

    business = Business.objects.get(slug=shop_slug)
    owner = business.memberships.get(role="owner").user
    products = list(Product.objects.filter(business=business, is_active=True)[:10])
    with override_settings(CHAT_MESSAGES_PER_MINUTE=10**9):
        customer = User.objects.create_user(email="cliente@bench.invalid", display_name="Cliente")
        User.objects.bulk_create(
            [
                User(email=f"c{i}@bench.invalid", display_name=f"Cliente {i:04}")
                for i in range(CONVERSATIONS - 1 + CUSTOMER_FRIENDS)
            ]
        )
        people = list(User.objects.filter(email__startswith="c", email__contains="@bench")
                      .exclude(pk=customer.pk).order_by("pk"))  # fmt: skip
        buyers, friends = people[: CONVERSATIONS - 1], people[CONVERSATIONS - 1 :]
        labels = [
            chat_settings.create_label(actor=owner, business=business, name=name, color=color)
            for name, color in (("VIP", "green"), ("Atacado", "blue"), ("Retirar", "yellow"))
        ]
        # The long thread first, so that the other conversations are newer than it.
        thread, _m = conversations.start_conversation_with_message(
            customer=customer, business=business, body="Oi! Vocês entregam?"
        )
        sends = []
        for n in range(2, THREAD_MESSAGES + 1):
            actor = customer if n % 2 else owner
            sends.append(chat_messages.text_message(
                actor=actor, conversation=thread, body=f"Mensagem {n}: tudo certo por aqui?"
            ))  # fmt: skip
            if len(sends) == 50:
                chat_messages.send_many(sends)
                sends = []
        chat_messages.send_many(sends)
        chat_messages.share_product(actor=owner, conversation=thread, product_id=products[0].pk)
        inbox.set_labels(actor=owner, conversation=thread, label_ids=[labels[0].pk])
        inbox.add_note(actor=owner, conversation=thread, body="Cliente antigo; prefere Pix.")
        # The inbox's older conversations, bulk-inserted as chats/tests/test_scale.py
        # does (through the services they took minutes on a loaded machine); the
        # newest ones, which the first page shows, through the services.
        recent = buyers[-SERVICE_CONVERSATIONS:]
        bulk_conversations(business, buyers[:-SERVICE_CONVERSATIONS])
        chats = []
        for i, buyer in enumerate(recent):
            conversation, _m = conversations.start_conversation_with_message(
                customer=buyer, business=business, body=f"Olá, pedido {i}?"
            )
            chats.append(conversation)
            if i % 7 == 0:
                inbox.set_labels(
                    actor=owner, conversation=conversation, label_ids=[labels[i % 3].pk]
                )
        for i in range(ORDERS):
            conversation = thread if i % 20 == 0 else chats[-1 - i]
            product = products[i % len(products)]
            order = orders.create_payment_request(
                actor=owner,
                conversation=conversation,
                lines=[{"product_id": product.pk, "quantity": 1 + i % 3}],
                shipping=990 if i % 2 else 0,
            )
            if i % 5 == 4:
                orders.cancel_order(actor=owner, order=order)
        # The customer's other chats: shops and friends.
        for n in range(CUSTOMER_SHOPS):
            merchant = User.objects.create_user(
                email=f"m{n}@bench.invalid", display_name=f"Loja {n}"
            )
            other = account_services.create_business(
                user=merchant, name=f"Loja Bench {n}", slug=f"loja-bench-{n}"
            )
            conversations.start_conversation_with_message(
                customer=customer, business=other, body="Vocês abrem domingo?"
            )
        for friend in friends:
            direct, _created = conversations.start_direct_conversation(user=customer, peer=friend)
            chat_messages.send_text(actor=friend, conversation=direct, body="Bora almoçar?")
    assert Conversation.objects.filter(business=business).count() == CONVERSATIONS
    assert Order.objects.filter(business=business).count() == ORDERS
    merchant, buyer = session_cookie(owner), session_cookie(customer)
    dashboard = f"/dashboard/{shop_slug}/"
    return {
        "user-bare": ("/bare/user", merchant),
        "inbox": (f"{dashboard}inbox/", merchant),
        "thread": (f"{dashboard}inbox/{thread.pk}/", merchant),
        "dashboard": (dashboard, merchant),
        "orders": (f"{dashboard}orders/", merchant),
        "chats": ("/chats/", buyer),
        "chat": (f"/chats/{thread.pk}/", buyer),
    }


def prepare(env: dict[str, str], signed_in: bool = True) -> tuple[str, str, dict]:
    setup_django(env)
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    shop, product = load_shop()
    pages = load_signed_in(shop.strip("/").split("/")[-1]) if signed_in else {}
    connections.close_all()
    return shop, product, pages


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A browser's user agent: a request without one is a bot, whose campaign clicks
# insights does not count (the shop page with utm_* would not record its click).
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)


def get(
    conn: http.client.HTTPConnection, path: str, headers: dict[str, str] | None = None
) -> tuple[int, int]:
    conn.request(
        "GET",
        path,
        headers={"Accept-Language": "pt-BR", "User-Agent": USER_AGENT, **(headers or {})},
    )
    response = conn.getresponse()
    body = response.read()
    return response.status, len(body)


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            status, _ = get(conn, "/bare")
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer in time")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hammer_python(
    port: int, path: str, requests: int, concurrency: int, headers: dict[str, str] | None = None
) -> dict:
    """Send ``requests`` GETs to ``path`` over ``concurrency`` keep-alive connections,
    one thread each (with ``headers``, e.g. a session cookie, on each). Stops early
    (and says so) past DEADLINE_PER_URL."""
    latencies: list[float] = []
    errors: list[str] = []
    sizes: set[int] = set()
    lock = threading.Lock()
    remaining = [requests]
    deadline = time.monotonic() + DEADLINE_PER_URL

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            while True:
                with lock:
                    if remaining[0] <= 0 or time.monotonic() > deadline:
                        return
                    remaining[0] -= 1
                start = time.perf_counter()
                try:
                    status, size = get(conn, path, headers)
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    with lock:
                        errors.append(type(exc).__name__)
                    continue
                elapsed = time.perf_counter() - start
                with lock:
                    if status == 200:
                        latencies.append(elapsed)
                        sizes.add(size)
                    else:
                        errors.append(str(status))
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    latencies.sort()
    done = len(latencies)
    return {
        "cut_short": remaining[0] > 0,
        "done": done,
        "errors": errors,
        "rps": done / wall if wall else 0.0,
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95": latencies[max(0, int(done * 0.95) - 1)] * 1000 if latencies else float("nan"),
        "bytes": max(sizes) if sizes else 0,
    }


# wrk prints its own summary for people; this prints one line for this script.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95),
    e.connect + e.read + e.write + e.status + e.timeout, summary.bytes))
end
"""


def hammer_wrk(
    port: int,
    path: str,
    seconds: float,
    concurrency: int,
    var_dir: Path,
    headers: dict[str, str] | None = None,
) -> dict:
    """Load ``path`` for ``seconds`` with wrk (C, 2 threads), which takes far less of
    the shared CPUs per request than a Python client. wrk runs for a time, not for a
    number of requests, so the count differs from URL to URL."""
    script = var_dir / "result-line.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(  # noqa: S603 - fixed arguments
        [
            shutil.which("wrk") or "wrk",
            f"--threads={min(2, concurrency)}",
            f"--connections={concurrency}",
            f"--duration={max(1, round(seconds))}s",
            "--timeout=10s",
            "--header=Accept-Language: pt-BR",
            f"--header=User-Agent: {USER_AGENT}",
            *(f"--header={name}: {value}" for name, value in (headers or {}).items()),
            f"--script={script}",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    done, micros, p50, p95, errors, size = (int(x) for x in line.split()[1:])
    return {
        "done": done - errors,
        "errors": ["wrk"] * errors,
        "rps": done / (micros / 1e6) if micros else 0.0,
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "bytes": size // done if done else 0,  # with the headers
    }


def run_server_bench(
    env,
    var_dir: Path,
    pages: dict[str, str],
    *,
    requests: int,
    seconds: float,
    concurrency: int,
    client: str,
    headers: dict[str, str] | None = None,
    on_url=None,
):
    """Start the server, load each of ``pages`` (name → path, with ``headers``; or
    name → (path, headers)), stop it; returns each page's figures. ``on_url(name)``
    is called before each URL."""
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host=127.0.0.1",
            f"--port={port}",
            "--workers=1",
            "--lifespan=off",
            "--no-access-log",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(var_dir / "server.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    try:
        wait_until_up(port, server)
        results = {}

        for name, page in pages.items():
            # a page is a path (with ``headers``) or a (path, its own headers) pair
            path, page_headers = page if isinstance(page, tuple) else (page, headers)
            if on_url is not None:
                on_url(name)
            # warm-up, then the measured run
            if client == "wrk":
                hammer_wrk(port, path, 1, concurrency, var_dir, page_headers)
            else:
                hammer_python(port, path, max(50, requests // 10), concurrency, page_headers)
            cpu_before = cpu_seconds(server.pid)
            if client == "wrk":
                result = hammer_wrk(port, path, seconds, concurrency, var_dir, page_headers)
            else:
                result = hammer_python(port, path, requests, concurrency, page_headers)
            results[name] = result
            cpu_after = cpu_seconds(server.pid)
            if cpu_before is not None and cpu_after is not None and result["done"]:
                result["cpu_ms"] = (cpu_after - cpu_before) * 1000 / result["done"]
        return results
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.returncode not in (0, -15):
            print((var_dir / "server.log").read_text()[-3000:], file=sys.stderr)


def floor_of(name: str) -> str:
    """The floor a page is measured against: the signed-in floor for signed-in pages."""
    return "bare" if name in ANONYMOUS else "user-bare"


ANONYMOUS = ("bare", "shop", "shop+utm", "product")


def print_table(pages: dict, results: dict, load: str) -> bool:
    database = "PostgreSQL (pooled)" if os.environ.get("DATABASE_URL") else "SQLite"
    print(f"\n{load}; uvicorn, 1 worker, DEBUG=0, {database}; {os.cpu_count()} CPUs\n")
    header = f"{'page':<10}{'path':<34}{'ok':>6}{'err':>5}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}"
    header += f"{'KiB':>6}{'vs floor':>9}{'cpu ms':>8}{'cpu vs floor':>13}"
    print(header)
    print("-" * len(header))
    ok = True
    for name, page in pages.items():
        path = page[0] if isinstance(page, tuple) else page
        r, floor = results[name], results[floor_of(name)]
        share = r["rps"] / floor["rps"] if floor["rps"] else 0.0
        if name not in ("bare", "user-bare") and share < 0.5:
            ok = False
        cpu = r.get("cpu_ms", float("nan"))
        cpu_share = floor["cpu_ms"] / cpu if floor.get("cpu_ms") and cpu else float("nan")
        shown = path if len(path) <= 32 else path[:31] + "…"
        print(
            f"{name:<10}{shown:<34}{r['done']:>6}{len(r['errors']):>5}{r['rps']:>8.0f}"
            f"{r['p50']:>8.1f}{r['p95']:>8.1f}{r['bytes'] / 1024:>6.1f}{share:>9.0%}"
            f"{cpu:>8.2f}{cpu_share:>13.0%}"
        )
        if r["errors"]:
            ok = False
            print(f"    errors: {sorted(set(r['errors']))}")
        if r.get("cut_short"):
            print(f"    stopped after {DEADLINE_PER_URL:.0f} s")
    print(
        "\nvs floor: req/s as a share of the floor's: the bare view (/bare) for the pages"
        "\nwithout a session, the signed-in floor (/bare/user: the session and its user"
        "\nloaded, nothing else) for the signed-in ones. cpu ms: the server's CPU time per"
        "\nrequest (user + system); cpu vs floor: the floor's cpu ms over the page's, the"
        "\nthroughput share one core would give; it is steadier than req/s when other"
        "\nprograms share the machine (and the client's own CPU does not count in it)."
    )
    print(f"\ngoal: every page at least 50 % of its floor: {'met' if ok else 'NOT met'}")
    return ok


def profile(pages: dict, repeat: int = 200) -> None:
    """cProfile of rendering each page in-process with the production settings, after
    its CPU time per request without the profiler."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE="pt-BR", HTTP_HOST="127.0.0.1")
    for name, page in pages.items():
        path, headers = page if isinstance(page, tuple) else (page, {})
        if name in ("bare", "user-bare"):
            continue
        for _ in range(20):
            assert client.get(path, headers=headers).status_code == 200, path
        queries = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(path, headers=headers)
        start = time.process_time()
        for _ in range(repeat):
            client.get(path, headers=headers)
        plain = (time.process_time() - start) / repeat * 1000
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(repeat):
            client.get(path, headers=headers)
        profiler.disable()
        print(
            f"\n=== {name} {path}: {plain:.2f} ms CPU per request in-process,"
            f" {len(queries)} queries"
        )
        stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
        stats.print_stats(40)
        stats.sort_stats("tottime").print_stats(25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests", type=int, default=500, help="per URL, Python client (default 500)"
    )
    parser.add_argument("--seconds", type=float, default=5, help="per URL, wrk client (default 5)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections (default 8)")
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk when installed (auto), else Python threads",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile in-process instead")
    parser.add_argument(
        "--only", default="", help="comma-separated page names (the floors are always loaded)"
    )
    parser.add_argument(
        "--anonymous", action="store_true", help="only the pages without a session (faster set-up)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default="",
        help="run on a throw-away database on this PostgreSQL server (with the connection "
        "pool, as in production), e.g. postgres://postgres@127.0.0.1:5432/postgres; "
        "default: SQLite",
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        database_url = (
            stack.enter_context(throwaway_postgres(args.postgres)) if args.postgres else ""
        )
        return run(args, database_url)


def run(args, database_url: str) -> int:
    var_dir = Path(tempfile.mkdtemp(prefix="conversa-bench-"))
    env = server_environment(var_dir, database_url)
    started = time.monotonic()
    try:
        shop, product, signed_in = prepare(env, signed_in=not args.anonymous)
        pages = {"bare": "/bare", "shop": shop, "shop+utm": shop + UTM, "product": product}
        pages |= signed_in
        if args.only:
            wanted = set(args.only.split(","))
            pages = {k: v for k, v in pages.items() if k in wanted or k in ("bare", "user-bare")}
        print(
            f"loaded {PRODUCTS} products"
            + (f", {CONVERSATIONS} conversations, {ORDERS} orders" if signed_in else "")
            + f" in {time.monotonic() - started:.1f} s ({var_dir})"
        )
        if args.profile:
            profile(pages)
            return 0
        client = args.client
        if client == "auto":
            client = "wrk" if shutil.which("wrk") else "python"
        results = run_server_bench(
            env,
            var_dir,
            pages,
            requests=args.requests,
            seconds=args.seconds,
            concurrency=args.concurrency,
            client=client,
        )
        if client == "wrk":
            load = f"wrk for {args.seconds:g} s per URL"
        else:
            load = f"{args.requests} requests per URL from Python threads"
        ok = print_table(pages, results, f"{load}, {args.concurrency} keep-alive connections")
        print(f"total time {time.monotonic() - started:.1f} s")
        return 0 if ok else 1
    finally:
        clean_up(var_dir, args.keep)


if __name__ == "__main__":
    sys.exit(main())
