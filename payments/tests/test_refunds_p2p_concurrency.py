"""PostgreSQL, real threads and connections: concurrent partial refunds never exceed
the payment; concurrent P2P sends never exceed a limit."""

import threading
import uuid

import pytest
from django.db import connection, connections
from django.db.models import Sum

from accounts.tests.factories import UserFactory
from chats.services import conversations
from core.errors import AppError
from payments.models import LedgerEntry, LedgerTransaction, P2PLimits, Payment, PaymentPin, Refund
from payments.services import ledger, p2p, pins, refunds
from payments.tests.factories import card_for, pay

FAST_PIN = "481526"


def _run(n, target) -> list:
    results, barrier = [], threading.Barrier(n)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results.append(target(i))
        except AppError as exc:
            results.append(exc.code)
        except Exception as exc:  # reported by the assertions
            results.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _books_balance() -> None:
    for posting in LedgerTransaction.objects.prefetch_related("entries"):
        assert sum(e.amount for e in posting.entries.all()) == 0
    for account in ledger.LedgerAccount.objects.all():
        total = LedgerEntry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or 0
        assert account.balance == total, account.code
        assert account.is_system or account.balance >= 0


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_partial_refunds_never_exceed_the_payment(shop, customer, owner, business):
    # given a paid order of 98.00
    order, _product = shop
    payment = pay(customer, order, card_for(customer))
    run = uuid.uuid4().hex

    # when 12 refunds of 10.00 are made at once (only 9 fit)
    def refund(i: int) -> str:
        return refunds.refund_order(
            actor=owner, order=order, amount=1000, reason=f"part {i}",
            idempotency_key=f"{run}-{i}",
        ).status  # fmt: skip

    results = _run(12, refund)
    # then exactly 9 succeeded, the others were refused, and the sums are exact
    assert results.count("succeeded") == 9, results
    assert set(results) <= {"succeeded", "refund_too_large"}, results
    payment.refresh_from_db()
    assert payment.refunded == 9000 <= payment.amount
    assert Refund.objects.filter(status="succeeded").aggregate(s=Sum("amount"))["s"] == 9000
    assert LedgerTransaction.objects.filter(kind="refund").count() == 9
    assert len(set(Refund.objects.values_list("gateway_reference", flat=True))) == 9
    _books_balance()
    assert connection.vendor == "postgresql"


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_never_exceed_the_limits(customer, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # given limits of 5 received a day and 50.00 sent a month
    P2PLimits.objects.update_or_create(
        pk=1, defaults={"max_received_per_day": 5, "max_sent_per_month": 5000}
    )
    PaymentPin.objects.filter(user=customer).update(pin_hash=pins.hash_pin(FAST_PIN))
    friends = [UserFactory(display_name=f"Friend {n}") for n in range(2)]
    chats = [
        conversations.start_direct_conversation(user=customer, peer=friend)[0] for friend in friends
    ]
    card = card_for(customer, "4000056655665556")
    run = uuid.uuid4().hex

    # when 16 sends of 10.00 to the first friend race (per-day limit: 5 fit)
    def send_to_first(i: int) -> str:
        return p2p.send_money(
            payer=customer, conversation=chats[0], amount=1000, currency="BRL", card=card,
            confirmation="pin", pin=FAST_PIN, idempotency_key=f"{run}-a-{i}",
        ).status  # fmt: skip

    results = _run(16, send_to_first)
    assert results.count("succeeded") == 5, results
    assert set(results) <= {"succeeded", "limit_received_per_day"}, results

    # and the month's 50.00 is now used up: sends to the other friend all fail
    def send_to_second(i: int) -> str:
        return p2p.send_money(
            payer=customer, conversation=chats[1], amount=100, currency="BRL", card=card,
            confirmation="pin", pin=FAST_PIN, idempotency_key=f"{run}-b-{i}",
        ).status  # fmt: skip

    results = _run(8, send_to_second)
    assert set(results) == {"limit_sent_per_month"}, results
    assert Payment.objects.filter(status="succeeded").count() == 5
    assert ledger.wallet_account(friends[0], "BRL").balance == 5000
    _books_balance()


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_monthly_sends_stop_at_the_limit(customer, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    P2PLimits.objects.update_or_create(pk=1, defaults={"max_sent_per_month": 3500})
    PaymentPin.objects.filter(user=customer).update(pin_hash=pins.hash_pin(FAST_PIN))
    friends = [UserFactory(display_name=f"Friend {n}") for n in range(6)]
    chats = [
        conversations.start_direct_conversation(user=customer, peer=friend)[0] for friend in friends
    ]
    card = card_for(customer, "4000056655665556")
    run = uuid.uuid4().hex

    # when 6 sends of 10.00 to 6 different friends race (monthly limit 35.00: 3 fit)
    def send(i: int) -> str:
        return p2p.send_money(
            payer=customer, conversation=chats[i], amount=1000, currency="BRL", card=card,
            confirmation="pin", pin=FAST_PIN, idempotency_key=f"{run}-{i}",
        ).status  # fmt: skip

    results = _run(6, send)
    assert results.count("succeeded") == 3, results
    assert set(results) <= {"succeeded", "limit_sent_per_month"}, results
    sent = Payment.objects.filter(status="succeeded").aggregate(s=Sum("amount"))["s"]
    assert sent == 3000 <= 3500
    _books_balance()
