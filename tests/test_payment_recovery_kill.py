"""A real web server killed (``kill -9``) while it settles a card payment the gateway has
already charged: the recovery job settles it once (docs/payments.md, "Recovery").

The server (``asgi_server``: uvicorn on the test database) serves ``POST
/api/v1/orders/<id>/pay/`` while this test holds the gateway's clearing ledger account
row locked in a connection of its own, so the settlement waits on it after the charge.
Once the server's database session is seen waiting on that lock, the server is killed
and the lock released. The sandbox gateway keeps its charges in the cache (Redis), which
the server and this test share.
"""

import contextlib
import json
import os
import signal
import threading
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from accounts import services as account_services
from accounts.tests.factories import UserFactory
from chats.models import Message
from chats.tests.factories import start_chat
from payments import tasks
from payments.gateway import get_gateway
from payments.idempotency import payment_key
from payments.models import LedgerTransaction, Order, Payment
from payments.services import ledger, orders, pins
from payments.tests.factories import PIN, card_for
from tests.celery_fixtures import _test_database_url, wait_for

pytestmark = [pytest.mark.needs_postgres, pytest.mark.needs_redis]

CLEARING = "clearing:sandbox:BRL"


@pytest.fixture
def shared_process_env(tmp_path, settings) -> dict[str, str]:
    """The server uses this process's own Redis key prefix: the sandbox gateway's
    charges, which the server makes, are then the ones the recovery here asks for."""
    return {
        "VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
    }


def _server_pid(url: str) -> int:
    """The uvicorn process serving ``url`` (started by ``asgi_server``)."""
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(b"uvicorn") for arg in argv) and f"--port={port}".encode() in argv:
            return int(entry.name)
    raise AssertionError(f"no uvicorn process on port {port}")


def _blocked_by(pid: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid]
        )
        return [row[0] for row in cursor.fetchall()]


def _alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] > 0


def _pay_in_background(url: str, token: str, order: Order, card, key: str) -> threading.Thread:
    request = urllib.request.Request(  # noqa: S310 - the test's own server
        f"{url}/api/v1/orders/{order.pk}/pay/",
        data=json.dumps({"card_id": card.pk, "confirmation": "pin", "pin": PIN}).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": key,
            "Content-Type": "application/json",
        },
        method="POST",
    )

    def pay():
        # The server dies mid-request: no answer is expected.
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=120).close()  # noqa: S310

    thread = threading.Thread(target=pay, daemon=True)
    thread.start()
    return thread


def test_a_charge_whose_server_was_killed_before_settling_is_settled_once_by_the_beat(
    asgi_server, settings, owner, business
):
    # given: Carla (a PIN, a card) and a payment request for her; an API token
    customer = UserFactory(email="carla@example.com", display_name="Carla")
    pins.set_pin(user=customer, pin=PIN, pin_again=PIN)
    card = card_for(customer)
    order = orders.create_payment_request(
        actor=owner,
        conversation=start_chat(business, customer),
        lines=[{"name": "Bolo de cenoura", "unit_price": 4500, "quantity": 2}],
        shipping=800,
    )
    _token, raw = account_services.create_api_token(user=customer, name="app")
    ledger.clearing_account("sandbox", "BRL")  # the row the settlement will wait on
    key = uuid.uuid4().hex

    # given: this test holds the clearing account's row
    holder = psycopg.connect(_test_database_url())
    try:
        holder.execute(
            "SELECT id FROM payments_ledgeraccount WHERE code = %s FOR UPDATE", [CLEARING]
        )

        # when: the server pays, charges, and waits on that lock in its settlement
        request = _pay_in_background(asgi_server, raw, order, card, key)
        assert wait_for(lambda: _blocked_by(holder.info.backend_pid), 60), "never blocked"
        [server_session] = _blocked_by(holder.info.backend_pid)

        # ... and is killed there; then the lock is released
        os.kill(_server_pid(asgi_server), signal.SIGKILL)
        request.join(timeout=30)
        holder.rollback()
    finally:
        holder.close()
    assert wait_for(lambda: not _alive(server_session), 30), "the dead server's session stayed"

    # then (today's failure): charged at the gateway, but pending, unposted, unpaid
    payment = Payment.objects.get(idempotency_key=payment_key(user=customer, key=key))
    assert payment.status == Payment.Status.PENDING and not payment.gateway_reference
    assert not LedgerTransaction.objects.filter(payment=payment).exists()
    charge = get_gateway("sandbox").find_charge(idempotency_key=payment.idempotency_key)
    assert charge is not None and charge.status == "succeeded"

    # when: after the grace period (made 0 s here), the beat job runs once
    settings.PAYMENT_RECOVERY_GRACE = 0
    tasks.recover_stranded_money()

    # then: paid, with exactly one posting and one receipt, on the charge found by key
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.gateway_reference == charge.reference
    assert order.status == Order.Status.PROCESSING
    assert LedgerTransaction.objects.filter(payment=payment).count() == 1
    assert (
        Message.objects.filter(kind="payment_receipt", payload__payment_id=payment.pk).count() == 1
    )
    # ... and a second run changes nothing
    tasks.recover_stranded_money()
    assert LedgerTransaction.objects.filter(payment=payment).count() == 1
