"""A broadcast to 10,000 opted-in contacts, delivered by one real Celery worker on Redis.

    .venv/bin/python bench/broadcast.py                   # 10,000 contacts, 1 worker
    .venv/bin/python bench/broadcast.py --contacts 2000   # a quicker run
    .venv/bin/python bench/broadcast.py --concurrency 1   # the worker with one process

One command, nothing to set up: it makes a throw-away PostgreSQL database on
``--postgres`` (``conversa_bench_broadcast_<random>``, dropped afterwards), a
temporary ``VAR_DIR``, and uses the Redis at ``--redis`` (broker, cache and channel
layer) under a key prefix of its own, deleted afterwards. It migrates, makes one
business through the services and ``--contacts`` customers who accept its offers
(users, contacts, conversations and participants by bulk inserts: set-up only), then
starts one Celery worker (``celery -A config worker``, prefork, ``--concurrency``
processes, as the Procfile runs it) and creates a broadcast to everyone through
``marketing.services.create_broadcast`` — the dashboard's service: audience chosen
under row locks, one outbox row per contact, the dispatcher enqueued after the commit.

It measures from that call until every offer is sent (the outbox rows no longer
``scheduled``), and prints the time, messages/s, the failed rows, and the duplicates:
conversations holding more than one offer message. Goal: ≤ 60 s and 0 duplicates
(and every contact served); exit 1 if missed. The worker is stopped, the Redis keys,
the database and the directory removed, whatever happened.
"""

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import clean_up, server_environment, setup_django, throwaway_postgres

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 60.0
TIMEOUT = 900.0


def build(contacts: int):
    """One business (through the services) and ``contacts`` opted-in customers, each
    with a conversation (bulk inserts). Returns (owner, business)."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from accounts import services as account_services
    from accounts.models import User
    from chats.models import Contact, Conversation, Participant

    call_command("migrate", verbosity=0)
    owner = User.objects.create_user(email="owner@bench.example", password="bench-pass-1")  # noqa: S106
    business = account_services.create_business(user=owner, name="Bench Bakery", slug="bench")
    now = timezone.now()
    password = make_password(None)
    with transaction.atomic():
        users = User.objects.bulk_create(
            [
                User(email=f"c{i}@bench.example", display_name=f"Cliente {i}", password=password)
                for i in range(contacts)
            ],
            batch_size=2000,
        )
        rows = Contact.objects.bulk_create(
            [
                Contact(
                    business=business, user=u, offers_consent_at=now, offers_consent_source="chat"
                )
                for u in users
            ],
            batch_size=2000,
        )
        conversations = Conversation.objects.bulk_create(
            [Conversation(kind="business", business=business, contact=c) for c in rows],
            batch_size=2000,
        )
        Participant.objects.bulk_create(
            [Participant(conversation=c, user_id=c.contact.user_id) for c in conversations]
            + [Participant(conversation=c, business=business) for c in conversations],
            batch_size=4000,
        )
    return owner, business


def start_worker(env: dict[str, str], var_dir: Path, concurrency: int) -> subprocess.Popen:
    log = open(var_dir / "worker.log", "wb")  # noqa: SIM115 - the process owns it
    return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING",
            f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_for_worker(var_dir: Path, timeout: float = 60.0) -> None:
    from config.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if app.control.ping(timeout=1.0):
                return
        time.sleep(0.5)
    raise RuntimeError("the worker did not start: " + (var_dir / "worker.log").read_text()[-2000:])


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure(owner, business, expected: int) -> dict:
    from django.db.models import Count

    from chats.models import Message, ScheduledMessage
    from marketing import selectors, services

    started = time.monotonic()
    broadcast = services.create_broadcast(
        actor=owner, business=business, text="Olá {first_name}! Bolos novos na {business}.",
        audience="all",
    )  # fmt: skip
    scheduled = time.monotonic() - started
    last, progress = -1, {}
    while time.monotonic() - started < TIMEOUT:
        progress = selectors.broadcast_progress(broadcast)
        if progress["done"]:
            break
        if progress["finished"] // 1000 != last:
            last = progress["finished"] // 1000
            print(f"  {time.monotonic() - started:6.1f} s  {progress['finished']:6d} sent")
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    messages = Message.objects.filter(kind="offer")
    duplicates = messages.values("conversation").annotate(n=Count("id")).filter(n__gt=1).count()
    served = messages.values("conversation").distinct().count()
    failed = ScheduledMessage.objects.filter(kind="offer", status="failed").count()
    return {
        "recipients": broadcast.recipients,
        "scheduled_s": scheduled,
        "elapsed": elapsed,
        "sent": progress.get("sent", 0),
        "failed": failed,
        "messages": messages.count(),
        "served": served,
        "duplicates": duplicates,
        "done": progress.get("done", False),
        "expected": expected,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000, help="opted-in contacts (10000)")
    parser.add_argument(
        "--concurrency", type=int, default=2, help="worker processes (2, as the Procfile)"
    )
    parser.add_argument(
        "--rate", type=float, default=1000.0,
        help="BROADCAST_MESSAGES_PER_SECOND, the throttle (1000)",
    )  # fmt: skip
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server for the throw-away database",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis server")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    with throwaway_postgres(args.postgres, "broadcast") as database_url:
        return run(args, database_url)


def run(args, database_url: str) -> int:
    import redis

    var_dir = Path(tempfile.mkdtemp(prefix="conversa-broadcast-bench-"))
    prefix = "conversa-bench-" + os.urandom(4).hex()
    env = server_environment(var_dir, database_url)
    env.update(
        REDIS_URL=args.redis,
        REDIS_KEY_PREFIX=prefix,
        BROADCAST_MESSAGES_PER_SECOND=str(args.rate),
        PYTHONPATH=str(ROOT),
    )
    redis_client = redis.Redis.from_url(args.redis)
    started = time.monotonic()
    worker = None
    try:
        setup_django(env)
        owner, business = build(args.contacts)
        print(f"{args.contacts} opted-in contacts set up in {time.monotonic() - started:.1f} s")
        worker = start_worker(env, var_dir, args.concurrency)
        wait_for_worker(var_dir)
        result = measure(owner, business, args.contacts)
        return report(args, result)
    finally:
        if worker is not None:
            stop(worker)
            text = (var_dir / "worker.log").read_text(errors="replace")
            if "Traceback" in text:
                print("--- worker log (end) ---\n" + text[-3000:], file=sys.stderr)
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        clean_up(var_dir, args.keep, redis_client, prefix)
        print(f"total time {time.monotonic() - started:.1f} s")


def report(args, r: dict) -> int:
    rate = r["sent"] / r["elapsed"] if r["elapsed"] else 0.0
    print(
        f"broadcast to {r['recipients']} contacts (throttle {args.rate:g}/s, worker "
        f"concurrency {args.concurrency}): scheduled in {r['scheduled_s']:.1f} s, all sent "
        f"in {r['elapsed']:.1f} s = {rate:.0f} messages/s"
    )
    print(
        f"offer messages {r['messages']}, contacts served {r['served']}, failed {r['failed']}, "
        f"duplicates {r['duplicates']}"
    )
    problems = []
    if not r["done"]:
        problems.append(f"not finished after {TIMEOUT:.0f} s")
    if r["elapsed"] > GOAL_SECONDS:
        problems.append(f"took {r['elapsed']:.1f} s (goal ≤ {GOAL_SECONDS:.0f} s)")
    if r["duplicates"]:
        problems.append(f"{r['duplicates']} duplicates")
    if r["served"] != r["expected"] or r["recipients"] != r["expected"]:
        problems.append(f"{r['served']} of {r['expected']} contacts served")
    for problem in problems:
        print("FAIL: " + problem)
    if not problems:
        print("OK: goal met (≤ 60 s, 0 duplicates)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
