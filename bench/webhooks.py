"""Webhooks: deliveries per second to a local receiver, and what an endpoint adds to
a payment.

    .venv/bin/python bench/webhooks.py                 # PostgreSQL on 127.0.0.1, Redis
    .venv/bin/python bench/webhooks.py --events 2000 --skip-payments

One command, nothing to set up. Part 1 makes a throw-away PostgreSQL database
(``conversa_bench_webhooks_<random>``, dropped afterwards) and a temporary
``VAR_DIR``, migrates, makes a business with ``--endpoints`` endpoints pointing at a
real HTTP server on a loopback port of this process (threaded ``http.server``,
answering 204), and writes ``--events`` events (10,000) through
``webhooks.services.capture.create_event``, round robin over the endpoints, 500 a
transaction. Then one thread per endpoint runs the worker's loop
(``delivery.deliver_endpoint``: claim, sign, POST, record) until everything is
delivered, and it prints events written per second and deliveries per second, with
the receiver's count checked against the database.

Part 2 runs ``bench/payments.py --webhooks`` (its figures without, then with, an
endpoint per business, in the same run and on the same server) and prints the
difference. Exit 1 when a payment costs more than 5 % more server CPU with an
endpoint than without (CPU per payment is the steady figure on shared machines;
payments per second, printed too, moves by ±30 % between runs: bench/README.md), or
when a delivery is missing.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import clean_up, server_environment, setup_django, throwaway_postgres

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 0.05  # the added server CPU per payment allowed with an endpoint
BATCH = 500


def deliveries(args, database_url: str) -> bool:
    var_dir = Path(tempfile.mkdtemp(prefix="conversa-webhooks-bench-"))
    env = server_environment(var_dir, database_url)
    if args.redis:
        env.update(REDIS_URL=args.redis, REDIS_KEY_PREFIX="conversa-bench-" + os.urandom(4).hex())
    redis_client = None
    try:
        setup_django(env)
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection, transaction

        call_command("migrate", verbosity=0, interactive=False)
        if args.redis:
            import redis

            redis_client = redis.Redis.from_url(args.redis)
        from accounts import services as account_services
        from accounts.models import User
        from webhooks.models import Delivery
        from webhooks.services import capture, delivery, endpoints
        from webhooks.tests.receiver import Receiver

        # Plain HTTP to the loopback receiver, allowed on purpose; no broker messages
        # (the threads below are the workers).
        settings.DEBUG = True
        settings.WEBHOOKS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
        capture.wake_sender = lambda *a, **k: None
        owner = User.objects.create_user(email="owner@bench.invalid", display_name="Owner")
        business = account_services.create_business(user=owner, name="Loja", slug="loja-bench")
        with Receiver(record_bodies=False) as receiver:
            hooks = [
                endpoints.create_endpoint(
                    actor=owner, business=business, url=receiver.url + f"/{n}"
                )
                for n in range(args.endpoints)
            ]
            started = time.monotonic()
            for first in range(0, args.events, BATCH):
                with transaction.atomic():
                    for n in range(first, min(args.events, first + BATCH)):
                        capture.create_event(
                            business_id=business.pk,
                            type="order.paid",
                            data={"id": str(n), "status": "processing", "total": 4500},
                            endpoint_ids=[hooks[n % len(hooks)].pk],
                        )
            written = time.monotonic() - started
            connection.close()

            def drain(endpoint_id: int) -> None:
                from django.db import connection as thread_connection

                delivery.deliver_endpoint(endpoint_id=endpoint_id, limit=10**9)
                thread_connection.close()

            started = time.monotonic()
            threads = [threading.Thread(target=drain, args=(h.pk,)) for h in hooks]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            sent = time.monotonic() - started
            succeeded = Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count()
            received = receiver.count
        print(
            f"events written: {args.events} in {written:.1f} s = {args.events / written:.0f}/s "
            f"(create_event, {BATCH} a transaction)"
        )
        print(
            f"delivered: {succeeded} in {sent:.1f} s = {succeeded / sent:.0f} events/s "
            f"({args.endpoints} endpoints, one sender thread each; the receiver counted "
            f"{received}; PostgreSQL, {'Redis' if args.redis else 'local-memory'} cache, "
            f"{os.cpu_count()} CPUs)"
        )
        connection.close()
        return succeeded == received == args.events
    finally:
        clean_up(var_dir, args.keep, redis_client, env.get("REDIS_KEY_PREFIX", ""))


def payments(args) -> bool:
    command = [
        sys.executable,
        str(ROOT / "bench" / "payments.py"),
        "--webhooks",
        "--clients",
        str(args.clients),
        "--orders",
        str(args.orders),
        "--postgres",
        args.postgres,
        "--redis",
        args.redis,
    ]
    print("\n$ " + " ".join(command[1:]), flush=True)
    run = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    print(run.stdout[-4000:], run.stderr[-2000:], sep="\n")
    found = re.search(r"WEBHOOKS_COST rate=(-?[\d.]+) cpu=(-?[\d.]+)", run.stdout)
    # Its own goal (payments against the floor) is not this bench's: only a broken run
    # (no figures, failed requests, a ledger that does not balance) fails here.
    broken = "LEDGER CHECK FAILED" in run.stdout or "failed requests" in run.stdout
    if found is None or broken:
        print("bench/payments.py failed")
        return False
    rate, cpu = float(found[1]), float(found[2])
    ok = cpu <= LIMIT
    print(
        f"an endpoint adds {cpu:+.1%} server CPU per payment (limit {LIMIT:+.0%}) "
        f"and {rate:+.1%} to the time a payment takes: {'OK' if ok else 'TOO MUCH'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="events delivered (10,000)")
    parser.add_argument("--endpoints", type=int, default=4, help="endpoints, one sender each (4)")
    parser.add_argument("--clients", type=int, default=16, help="payers for part 2 (16)")
    parser.add_argument("--orders", type=int, default=20, help="payments each, each time (20)")
    parser.add_argument("--skip-payments", action="store_true", help="part 1 only")
    parser.add_argument(
        "--postgres", default="postgres://postgres@127.0.0.1:5432/postgres", metavar="URL"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    # Part 2 first: part 1 sets this process up as Django with its own database.
    ok = args.skip_payments or payments(args)
    with throwaway_postgres(args.postgres, "webhooks") as database_url:
        ok = deliveries(args, database_url) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
