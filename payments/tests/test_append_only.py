"""PostgreSQL keeps the append-only tables (the ledger's postings and entries, the
audit events) whole: UPDATE and DELETE are refused row by row, and TRUNCATE, which
fires no row trigger, by a statement trigger (payments migration 0006). Django's own
flush between transactional tests goes through: a superuser's deletes the rows as a
replica, any other's truncates with ``conversa.allow_truncate`` (the root conftest.py)."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from payments.models import AuditEvent, LedgerEntry, LedgerTransaction
from payments.tests.factories import card_for, pay

pytestmark = pytest.mark.needs_postgres

APPEND_ONLY = ["payments_ledgerentry", "payments_ledgertransaction", "payments_auditevent"]


def _rows() -> tuple[int, int, int]:
    return (
        LedgerTransaction.objects.count(),
        LedgerEntry.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def paid(shop, customer):
    """A paid order: its audit events and its ledger posting."""
    order, _product = shop
    pay(customer, order, card_for(customer))
    assert all(_rows())
    return order


@pytest.mark.django_db
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_truncate_of_an_append_only_table_is_refused(paid, table):
    # given a paid order: audit events and a ledger posting
    before = _rows()

    # (the balance check deferred to the commit of the test's transaction runs now:
    # PostgreSQL truncates no table with pending trigger events)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    # when someone empties one of the tables with TRUNCATE (CASCADE: with the tables
    # that point at it)
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"TRUNCATE {table} CASCADE")

    # then PostgreSQL refuses and every row is still there
    assert _rows() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE payments_auditevent SET action = 'edited'",
        "DELETE FROM payments_auditevent",
    ],
)
def test_the_database_refuses_to_edit_or_delete_audit_events(paid, sql):
    before = list(AuditEvent.objects.values_list("pk", "action"))

    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)

    assert list(AuditEvent.objects.values_list("pk", "action")) == before


@pytest.mark.django_db(transaction=True)
def test_only_the_test_suites_flush_gets_through(shop, customer):
    # given a paid order in a transactional test (whose teardown flushes the database)
    order, _product = shop
    pay(customer, order, card_for(customer))

    # when a TRUNCATE that did not open the guards runs, it is refused
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE payments_ledgerentry, payments_ledgertransaction CASCADE")
    assert all(_rows())

    # then Django's flush, with the transaction-local setting the suite adds, empties
    # them (as every transactional test's teardown does)
    call_command("flush", interactive=False, verbosity=0)
    assert _rows() == (0, 0, 0)
