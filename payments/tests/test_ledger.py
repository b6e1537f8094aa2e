"""The double-entry ledger: postings balance, payables never go negative, cached
balances equal their entries, and PostgreSQL enforces the same rules itself."""

import threading
import uuid
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import UserFactory, create_business
from chats.tests.factories import start_chat
from core.errors import AppError
from payments import selectors
from payments.models import Card, LedgerAccount, LedgerEntry, LedgerTransaction, Order, Payment
from payments.services import ledger

SUCCEEDED, FAILED = Payment.Status.SUCCEEDED, Payment.Status.FAILED


# --- Helpers -----------------------------------------------------------------------


def make_shop(business=None, **profile):
    """A business, a customer in a conversation with it, and the customer's card."""
    business = business or create_business(**profile)
    customer = UserFactory()
    card = Card.objects.create(
        user=customer, gateway="sandbox", token=f"tok_{uuid.uuid4().hex}", brand="visa",
        last4="4242", exp_month=12, exp_year=2099, holder_name="Ana Cliente",
    )  # fmt: skip
    return SimpleNamespace(
        business=business,
        owner=business.memberships.get(role="owner").user,
        customer=customer,
        conversation=start_chat(business, customer),
        card=card,
    )


def make_payment(shop, *, amount, fee_bps=399, status=SUCCEEDED, gateway="sandbox", currency=None):
    """An order of ``amount`` and one payment attempt for it, in ``status``."""
    currency = currency or shop.business.currency
    last = Order.objects.filter(business=shop.business).aggregate(n=Max("number"))["n"] or 0
    order = Order.objects.create(
        business=shop.business, conversation=shop.conversation, customer=shop.customer,
        number=last + 1, currency=currency, subtotal=amount, total=amount,
        expires_at=timezone.now() + timedelta(hours=24), created_by=shop.owner,
    )  # fmt: skip
    return Payment.objects.create(
        order=order, payer=shop.customer, business=shop.business, card=shop.card,
        amount=amount, fee=ledger.fee_for(amount, fee_bps), currency=currency, status=status,
        confirmation=Payment.Confirmation.PIN, idempotency_key=uuid.uuid4().hex, gateway=gateway,
    )  # fmt: skip


def entry_sum(account: LedgerAccount) -> int:
    return account.entries.aggregate(s=Sum("amount"))["s"] or 0


def balance(account: LedgerAccount) -> int:
    account.refresh_from_db()
    return account.balance


def assert_books_balance():
    unbalanced = LedgerTransaction.objects.annotate(s=Sum("entries__amount")).exclude(s=0)
    assert list(unbalanced.values_list("pk", "s")) == []
    for account in LedgerAccount.objects.all():
        assert account.balance == entry_sum(account), account.code


def ledger_snapshot():
    return (
        LedgerTransaction.objects.count(),
        LedgerEntry.objects.count(),
        sorted(LedgerAccount.objects.values_list("code", "balance")),
    )


@pytest.fixture
def shop(business):
    return make_shop(business)


# --- Fees and accounts -------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "fee_bps", "fee"),
    [
        (10_000, 399, 399),
        (100, 399, 4),  # 3.99 → 4
        (50, 100, 1),  # exactly half a centavo rounds up
        (49, 100, 0),
        (1, 399, 0),
        (12_345, 0, 0),
        (10**15, 399, 399 * 10**11),
    ],
)
def test_fee_for_rounds_half_up_in_integers(amount, fee_bps, fee):
    assert ledger.fee_for(amount, fee_bps) == fee


@pytest.mark.parametrize("bad", [100.0, Decimal("100"), True, "100", -1])
def test_fee_for_refuses_anything_but_non_negative_integers(bad):
    with pytest.raises((TypeError, ValueError)):
        ledger.fee_for(bad, 399)


def test_accounts_are_made_once_per_holder_and_currency(business, owner):
    first = ledger.account_for_business(business, "BRL")

    assert ledger.account_for_business(business, "BRL") == first
    assert ledger.account_for_business(business, "USD") != first
    assert (first.code, first.kind, first.is_system) == (
        f"merchant:{business.pk}:BRL", LedgerAccount.Kind.MERCHANT_PAYABLE, False,
    )  # fmt: skip
    assert ledger.wallet_account(owner, "BRL").code == f"wallet:{owner.pk}:BRL"
    assert not ledger.wallet_account(owner, "BRL").is_system
    assert ledger.clearing_account("sandbox", "BRL").is_system
    assert ledger.revenue_account("BRL").is_system
    assert ledger.clearing_account("sandbox", "BRL") != ledger.clearing_account("stripe", "BRL")


@pytest.mark.parametrize("currency", ["brl", "R$", "", "BRLX", None])
def test_an_unknown_currency_is_refused(business, currency):
    with pytest.raises(AppError) as exc:
        ledger.account_for_business(business, currency)

    assert exc.value.code == "invalid_currency"
    assert not LedgerAccount.objects.exists()


# --- Card payments -----------------------------------------------------------------


def test_a_card_payment_debits_clearing_and_credits_merchant_and_revenue(shop):
    # given a succeeded payment of R$ 100,00 at 3.99 %
    payment = make_payment(shop, amount=10_000, fee_bps=399)

    # when it is posted
    posting = ledger.post_card_payment(payment=payment)

    # then the gateway owes 100,00, the merchant is owed 96,01 and the platform 3,99
    entries = {e.account.code: e.amount for e in posting.entries.select_related("account")}
    assert entries == {
        "clearing:sandbox:BRL": -10_000,
        f"merchant:{shop.business.pk}:BRL": 9_601,
        "revenue:BRL": 399,
    }
    assert (posting.kind, posting.currency, posting.payment) == ("card_payment", "BRL", payment)
    assert balance(ledger.account_for_business(shop.business, "BRL")) == 9_601
    assert balance(ledger.revenue_account("BRL")) == 399
    assert balance(ledger.clearing_account("sandbox", "BRL")) == -10_000
    assert_books_balance()


def test_a_payment_without_a_fee_posts_no_zero_entry(shop):
    payment = make_payment(shop, amount=2_500, fee_bps=0)

    posting = ledger.post_card_payment(payment=payment)

    assert sorted(posting.entries.values_list("amount", flat=True)) == [-2_500, 2_500]
    assert not LedgerAccount.objects.filter(kind="revenue").exclude(balance=0).exists()
    assert_books_balance()


def test_a_payment_is_posted_once(shop):
    payment = make_payment(shop, amount=10_000)
    ledger.post_card_payment(payment=payment)
    before = ledger_snapshot()

    with transaction.atomic():  # the caller's transaction stays usable after the refusal
        with pytest.raises(AppError) as exc:
            ledger.post_card_payment(payment=payment)
        assert LedgerTransaction.objects.filter(payment=payment).count() == 1

    assert exc.value.code == "already_posted"
    assert ledger_snapshot() == before


@pytest.mark.parametrize("status", [Payment.Status.PENDING, FAILED, Payment.Status.CANCELED])
def test_only_a_succeeded_payment_is_posted(shop, status):
    payment = make_payment(shop, amount=10_000, status=status)

    with pytest.raises(ValueError):
        ledger.post_card_payment(payment=payment)

    assert not LedgerTransaction.objects.exists()


# --- Refused postings ------------------------------------------------------------------


@pytest.fixture
def accounts(business):
    ledger.post(
        kind="opening",
        currency="BRL",
        entries=[
            (ledger.clearing_account("sandbox", "BRL"), -1_000),
            (ledger.account_for_business(business, "BRL"), 1_000),
        ],
    )
    return SimpleNamespace(
        clearing=ledger.clearing_account("sandbox", "BRL"),
        merchant=ledger.account_for_business(business, "BRL"),
        revenue=ledger.revenue_account("BRL"),
        usd_revenue=ledger.revenue_account("USD"),
    )


INVALID, UNBALANCED = "ledger_invalid_amount", "ledger_unbalanced"
REFUSED = {
    "unbalanced": (lambda a: [(a.clearing, -100), (a.merchant, 99)], UNBALANCED),
    "empty": (lambda a: [], UNBALANCED),
    "float": (lambda a: [(a.clearing, -100.0), (a.merchant, 100.0)], INVALID),
    "decimal": (lambda a: [(a.clearing, Decimal(-100)), (a.merchant, Decimal(100))], INVALID),
    "bool": (lambda a: [(a.clearing, -1), (a.merchant, True)], INVALID),
    "zero": (lambda a: [(a.clearing, -100), (a.merchant, 100), (a.revenue, 0)], INVALID),
    "overflow": (lambda a: [(a.clearing, -(2**63)), (a.merchant, 2**63)], INVALID),
    "mixed currency": (
        lambda a: [(a.clearing, -100), (a.usd_revenue, 100)],
        "ledger_currency_mismatch",
    ),
    "payable below zero": (
        lambda a: [(a.merchant, -1_001), (a.clearing, 1_001)],
        "insufficient_balance",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_posting_is_refused_and_writes_nothing(accounts, case):
    build, code = REFUSED[case]
    before = ledger_snapshot()

    with pytest.raises(AppError) as exc:
        ledger.post(kind="test", currency="BRL", entries=build(accounts))

    assert exc.value.code == code
    assert ledger_snapshot() == before


def test_a_payable_may_go_down_to_zero_but_not_below(accounts):
    def pay_out(amount):
        ledger.post(
            kind="payout",
            currency="BRL",
            entries=[(accounts.merchant, -amount), (accounts.clearing, amount)],
        )

    pay_out(1_000)

    assert balance(accounts.merchant) == 0
    with pytest.raises(AppError) as exc:
        pay_out(1)
    assert exc.value.code == "insufficient_balance"
    assert balance(accounts.merchant) == 0
    assert_books_balance()


def test_an_empty_wallet_cannot_pay(owner, accounts):
    wallet = ledger.wallet_account(owner, "BRL")

    with pytest.raises(AppError) as exc:
        ledger.post(kind="p2p", currency="BRL", entries=[(wallet, -1), (accounts.merchant, 1)])

    assert exc.value.code == "insufficient_balance"
    assert balance(wallet) == 0


def test_system_accounts_may_go_negative(accounts):
    ledger.post(
        kind="adjustment",
        currency="BRL",
        entries=[(accounts.revenue, -500), (accounts.clearing, 500)],
    )

    assert balance(accounts.revenue) == -500
    assert balance(accounts.clearing) == -500
    assert_books_balance()


def test_one_account_twice_in_a_posting_moves_by_the_net(accounts):
    ledger.post(
        kind="test",
        currency="BRL",
        entries=[(accounts.merchant, -1_000), (accounts.merchant, 400), (accounts.clearing, 600)],
    )

    assert balance(accounts.merchant) == 400
    assert_books_balance()


# --- Property: any sequence of payments and declines keeps the books ----------------------


class Rollback(Exception):
    """Ends a hypothesis example, undoing what it wrote."""


@pytest.fixture
def two_shops(db):
    return [
        make_shop(slug="loja-brl"),
        make_shop(slug="shop-usd", currency="USD"),
    ]


EVENT = st.tuples(
    st.sampled_from(["pay", "decline"]),
    st.integers(min_value=1, max_value=10**12),  # amount, up to 10 billion reais
    st.integers(min_value=0, max_value=2_000),  # fee_bps, as Business allows
    st.integers(min_value=0, max_value=1),  # which shop
    st.sampled_from(["sandbox", "stripe"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=st.lists(EVENT, max_size=12))
def test_any_sequence_of_payments_and_declines_keeps_every_invariant(two_shops, events):
    try:
        with transaction.atomic():
            expected_payable, expected_revenue, expected_clearing = {}, {}, {}
            for outcome, amount, fee_bps, which, gateway in events:
                shop = two_shops[which]
                currency = shop.business.currency
                status = FAILED if outcome == "decline" else SUCCEEDED
                payment = make_payment(
                    shop, amount=amount, fee_bps=fee_bps, status=status, gateway=gateway
                )
                if status == FAILED:
                    continue  # a decline posts nothing
                ledger.post_card_payment(payment=payment)
                fee = (amount * fee_bps + 5_000) // 10_000
                pk = shop.business.pk
                expected_payable[pk] = expected_payable.get(pk, 0) + amount - fee
                expected_revenue[currency] = expected_revenue.get(currency, 0) + fee
                key = (gateway, currency)
                expected_clearing[key] = expected_clearing.get(key, 0) - amount

            assert_books_balance()
            paid = Payment.objects.filter(status=SUCCEEDED)
            assert LedgerTransaction.objects.count() == paid.count()
            assert not LedgerTransaction.objects.filter(payment__status=FAILED).exists()
            for shop in two_shops:
                business, currency = shop.business, shop.business.currency
                assert selectors.balance_for_business(
                    business=business, currency=currency
                ) == expected_payable.get(business.pk, 0)
            revenue = dict(
                LedgerAccount.objects.filter(kind="revenue").values_list("currency", "balance")
            )
            assert {c: v for c, v in revenue.items() if v} == {
                c: v for c, v in expected_revenue.items() if v
            }
            clearing = {
                (a.code.split(":")[1], a.currency): a.balance
                for a in LedgerAccount.objects.filter(kind="clearing")
            }
            assert {k: v for k, v in clearing.items() if v} == expected_clearing
            raise Rollback
    except Rollback:
        pass


# --- Selectors -----------------------------------------------------------------------------


def test_a_business_balance_and_postings(shop, other):
    # given two payments to this shop and one to the business next door
    assert selectors.balance_for_business(business=shop.business, currency="BRL") == 0
    first = make_payment(shop, amount=10_000)
    second = make_payment(shop, amount=5_000)
    for payment in (first, second, make_payment(make_shop(other.business), amount=7_000)):
        ledger.post_card_payment(payment=payment)

    # then this shop sees its own, newest first, with the payment and order loaded
    assert selectors.balance_for_business(business=shop.business, currency="BRL") == 9_601 + 4_800
    assert selectors.balance_for_business(business=shop.business, currency="USD") == 0
    entries = selectors.list_entries_for_business(business=shop.business)
    with_queries = list(entries)
    assert [e.amount for e in with_queries] == [4_800, 9_601]
    assert [e.transaction.payment.order.number for e in with_queries] == [2, 1]
    limited = selectors.list_entries_for_business(business=shop.business, currency="BRL", limit=1)
    assert [e.amount for e in limited] == [4_800]
    assert not selectors.list_entries_for_business(business=shop.business, currency="USD")


def test_listing_postings_takes_one_query(shop, django_assert_num_queries):
    for amount in (1_000, 2_000, 3_000):
        ledger.post_card_payment(payment=make_payment(shop, amount=amount))

    with django_assert_num_queries(1):
        entries = list(selectors.list_entries_for_business(business=shop.business))
        [(e.transaction.kind, e.transaction.payment.order.number) for e in entries]


# --- Admin -----------------------------------------------------------------------------------


def test_the_admin_shows_the_ledger_read_only(client, shop):
    payment = make_payment(shop, amount=10_000)
    posting = ledger.post_card_payment(payment=payment)
    entry = posting.entries.first()
    account = ledger.account_for_business(shop.business, "BRL")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    for model in ("ledgeraccount", "ledgertransaction", "ledgerentry", "auditevent"):
        assert client.get(f"/admin/payments/{model}/").status_code == 200
        assert client.get(f"/admin/payments/{model}/add/").status_code == 403
    page = client.get(f"/admin/payments/ledgertransaction/{posting.pk}/change/")
    assert page.status_code == 200
    assert b"9601" in page.content and b"-10000" in page.content
    assert b'name="_save"' not in page.content
    assert client.get(f"/admin/payments/ledgerentry/{entry.pk}/delete/").status_code == 403
    edit = client.post(f"/admin/payments/ledgeraccount/{account.pk}/change/", {"balance": 1})
    assert edit.status_code == 403
    assert balance(account) == 9_601


# --- PostgreSQL enforces the rules itself ------------------------------------------------------


@pytest.mark.needs_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE payments_ledgerentry SET amount = amount + 1 WHERE transaction_id = %s",
        "DELETE FROM payments_ledgerentry WHERE transaction_id = %s",
        "UPDATE payments_ledgertransaction SET kind = 'edited' WHERE id = %s",
        "DELETE FROM payments_ledgertransaction WHERE id = %s",
    ],
)
def test_the_database_refuses_to_edit_or_delete_ledger_rows(shop, sql):
    posting = ledger.post_card_payment(payment=make_payment(shop, amount=10_000))
    before = ledger_snapshot()

    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [posting.pk])

    assert ledger_snapshot() == before


def _insert_raw_posting(currency, entries):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payments_ledgertransaction (kind, currency, description, created_at)"
            " VALUES ('raw', %s, '', now()) RETURNING id",
            [currency],
        )
        (posting_id,) = cursor.fetchone()
        for account, amount in entries:
            cursor.execute(
                "INSERT INTO payments_ledgerentry (transaction_id, account_id, amount, created_at)"
                " VALUES (%s, %s, %s, now())",
                [posting_id, account.pk, amount],
            )


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("case", "message"),
    [("unbalanced", "does not balance"), ("mixed currency", "another currency")],
)
def test_the_database_refuses_a_bad_posting_at_commit(case, message):
    business = create_business()
    merchant = ledger.account_for_business(business, "BRL")
    clearing = ledger.clearing_account("sandbox", "BRL")
    if case == "mixed currency":
        amounts = [(clearing, -100), (ledger.revenue_account("USD"), 100)]
    else:
        amounts = [(clearing, -100), (merchant, 99)]

    # the inserts themselves pass; the deferred trigger fires when the block commits
    with pytest.raises(IntegrityError, match=message), transaction.atomic():
        _insert_raw_posting("BRL", amounts)

    assert not LedgerTransaction.objects.exists()
    assert not LedgerEntry.objects.exists()


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_accepts_a_balanced_raw_posting():
    merchant = ledger.account_for_business(create_business(), "BRL")
    clearing = ledger.clearing_account("sandbox", "BRL")

    with transaction.atomic():
        _insert_raw_posting("BRL", [(clearing, -100), (merchant, 60), (merchant, 40)])

    assert LedgerEntry.objects.aggregate(s=Sum("amount"))["s"] == 0


# --- Concurrency on PostgreSQL (real threads, one connection each) -----------------------------


def _run_together(n, work):
    """Run ``work(i)`` in ``n`` threads released at once; returns each result or the
    code of its AppError."""
    barrier = threading.Barrier(n, timeout=20)
    results = [None] * n

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except AppError as exc:
            results[i] = exc.code
        except Exception as exc:  # reported by the caller's assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_to_one_merchant_end_with_the_exact_balance():
    shop = make_shop()
    payments = [make_payment(shop, amount=1_000 + i * 37, fee_bps=399) for i in range(20)]

    results = _run_together(20, lambda i: ledger.post_card_payment(payment=payments[i]).pk)

    assert all(isinstance(r, int) for r in results), results
    expected_net = sum(p.amount - p.fee for p in payments)
    assert selectors.balance_for_business(business=shop.business, currency="BRL") == expected_net
    assert balance(ledger.revenue_account("BRL")) == sum(p.fee for p in payments)
    assert balance(ledger.clearing_account("sandbox", "BRL")) == -sum(p.amount for p in payments)
    assert_books_balance()


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_never_take_a_payable_below_zero():
    # given R$ 10,00 owed to the merchant and 20 payouts of R$ 1,00 racing for it
    merchant = ledger.account_for_business(create_business(), "BRL")
    clearing = ledger.clearing_account("payouts", "BRL")
    ledger.post(kind="opening", currency="BRL", entries=[(clearing, -1_000), (merchant, 1_000)])

    def pay_out(i):
        ledger.post(kind="payout", currency="BRL", entries=[(merchant, -100), (clearing, 100)])
        return "ok"

    results = _run_together(20, pay_out)

    # then exactly ten get through and the balance is exactly zero
    assert sorted(results) == ["insufficient_balance"] * 10 + ["ok"] * 10
    assert balance(merchant) == 0
    assert_books_balance()


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_one_payment_post_it_once():
    shop = make_shop()
    payment = make_payment(shop, amount=10_000)

    results = _run_together(10, lambda i: ledger.post_card_payment(payment=payment).pk)

    assert sorted(results, key=str).count("already_posted") == 9
    assert LedgerTransaction.objects.filter(payment=payment).count() == 1
    assert selectors.balance_for_business(business=shop.business, currency="BRL") == 9_601
    assert_books_balance()
