"""Double-entry postings: the one place ledger rows are written.

A posting is a :class:`~payments.models.LedgerTransaction` in one currency with
entries that sum to zero (invariant 4). Entries are signed integer minor units from
the account holder's side: positive credits (merchant payable and fee revenue grow),
negative debits (clearing: what the gateway owes us). Rows are only ever inserted;
a correction is a new posting (the one deletion: :func:`replace_with_summary`, for the
privacy retention job). PostgreSQL checks the same rules again
(``payments/migrations/0002_ledger_triggers.py`` and ``0006_truncate_guards.py``):
entries and transactions refuse UPDATE, DELETE and TRUNCATE, and a deferred trigger
refuses at commit a transaction whose entries do not sum to zero.

Locking (docs/payments.md, "Ledger"): :func:`post` locks every account it touches
with one ``SELECT … FOR NO KEY UPDATE``, the non-system ones (merchant payable, user
wallets) first, then the system ones (gateway clearing, fee revenue), each in id
order — so every posting takes its row locks in the same global order and two
postings cannot deadlock each other, and a posting waiting for a merchant's payable
holds no system row meanwhile. It checks that no non-system account goes below
zero, and only then writes; the cached balances move in one relative ``UPDATE``
(balance + x). Every payment locks the system rows: call :func:`post` last in a
transaction, so they stay locked only from there to the commit.
"""

import re
from collections.abc import Sequence

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from accounts.models import Business, User
from core.errors import AppError
from payments.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    Payout,
    Refund,
)

KIND = LedgerAccount.Kind
CARD_PAYMENT = "card_payment"
PIX_PAYMENT = "pix_payment"
P2P_PAYMENT = "p2p_payment"
REFUND = "refund"
REFUND_REVERSAL = "refund_reversal"
# A bigint column holds |amount| < 2**63; anything near that is a bug or an attack.
MAX_AMOUNT = 2**62
_CURRENCY = re.compile(r"[A-Z]{3}")


def fee_for(amount: int, fee_bps: int) -> int:
    """The platform's fee on a merchant payment of ``amount`` minor units at
    ``fee_bps`` basis points, rounded half up with integers only (never a float)."""
    for value in (amount, fee_bps):
        if type(value) is not int:
            raise TypeError(f"fee_for takes integers, got {value!r}")
        if value < 0:
            raise ValueError(f"fee_for takes non-negative integers, got {value!r}")
    return (amount * fee_bps + 5_000) // 10_000


# --- Accounts ----------------------------------------------------------------------


def _check_currency(currency: str) -> None:
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise AppError(_("Unknown currency."), code="invalid_currency")


def _account(code: str, **fields) -> LedgerAccount:
    # get_or_create retries the read when a concurrent creator wins the unique code.
    account, _created = LedgerAccount.objects.get_or_create(code=code, defaults=fields)
    return account


AccountSpec = tuple[str, dict]  # (code, the fields it is created with)


def _accounts(*specs: AccountSpec) -> list[LedgerAccount]:
    """The accounts of ``specs``, in that order: one query when they all exist (the
    usual case), each missing one created as :func:`_account` does."""
    found = LedgerAccount.objects.in_bulk([code for code, _fields in specs], field_name="code")
    return [found.get(code) or _account(code, **fields) for code, fields in specs]


def _merchant(business_id: int, currency: str) -> AccountSpec:
    _check_currency(currency)
    return f"merchant:{business_id}:{currency}", {
        "kind": KIND.MERCHANT_PAYABLE,
        "currency": currency,
        "business_id": business_id,
    }


def _clearing(gateway: str, currency: str) -> AccountSpec:
    _check_currency(currency)
    if not gateway or not isinstance(gateway, str):
        raise ValueError("clearing_account needs a gateway name")
    return f"clearing:{gateway}:{currency}", {
        "kind": KIND.CLEARING,
        "currency": currency,
        "is_system": True,
    }


def _revenue(currency: str) -> AccountSpec:
    _check_currency(currency)
    return f"revenue:{currency}", {"kind": KIND.REVENUE, "currency": currency, "is_system": True}


def account_for_business(business: Business, currency: str) -> LedgerAccount:
    """The merchant payable account of ``business`` in ``currency`` (created on first
    use): what the platform owes the merchant. Never below zero."""
    return _accounts(_merchant(business.pk, currency))[0]


def wallet_account(user: User, currency: str) -> LedgerAccount:
    """The wallet of ``user`` in ``currency`` (person-to-person payments). Never below
    zero."""
    _check_currency(currency)
    return _account(
        f"wallet:{user.pk}:{currency}", kind=KIND.USER_WALLET, currency=currency, user=user
    )


def clearing_account(gateway: str, currency: str) -> LedgerAccount:
    """The system account for money ``gateway`` has charged and owes us; negative
    while the gateway has not settled."""
    return _accounts(_clearing(gateway, currency))[0]


def revenue_account(currency: str) -> LedgerAccount:
    """The system account for the platform's fee revenue in ``currency``."""
    return _accounts(_revenue(currency))[0]


def payouts_in_transit_account(currency: str) -> LedgerAccount:
    """The system account for payouts sent to a bank and not yet confirmed: its
    balance is the sum of the in-transit payouts (the reconciliation checks it)."""
    _check_currency(currency)
    return _account(
        f"payouts_in_transit:{currency}",
        kind=KIND.PAYOUTS_IN_TRANSIT, currency=currency, is_system=True,
    )  # fmt: skip


def settlement_account(bank: str, currency: str) -> LedgerAccount:
    """The system account for the platform's bank account that payouts leave from:
    a confirmed payout credits it (money left the bank)."""
    _check_currency(currency)
    if not bank or not isinstance(bank, str):
        raise ValueError("settlement_account needs a bank name")
    return _account(
        f"settlement:{bank}:{currency}", kind=KIND.SETTLEMENT, currency=currency, is_system=True
    )


# --- Postings ----------------------------------------------------------------------


def _validate(
    kind: str, currency: str, entries: Sequence[tuple[LedgerAccount, int]]
) -> dict[int, int]:
    """The net change per account id, or AppError for a posting that must not be
    written."""
    _check_currency(currency)
    if not kind or len(kind) > 40:
        raise ValueError("a posting needs a kind of at most 40 characters")
    unbalanced = AppError(_("This posting does not balance."), code="ledger_unbalanced")
    if not entries:
        raise unbalanced
    deltas: dict[int, int] = {}
    for account, amount in entries:
        # bool is an int subclass and float is never money (invariant 1).
        if type(amount) is not int or amount == 0 or abs(amount) > MAX_AMOUNT:
            raise AppError(
                _("Every ledger entry needs a non-zero whole number of minor units."),
                code="ledger_invalid_amount",
            )
        if not isinstance(account, LedgerAccount) or account.pk is None:
            raise ValueError(f"not a saved ledger account: {account!r}")
        if account.currency != currency:
            raise AppError(
                _("Every entry of a posting must be in the posting's currency."),
                code="ledger_currency_mismatch",
            )
        deltas[account.pk] = deltas.get(account.pk, 0) + amount
    if sum(deltas.values()) != 0:
        raise unbalanced
    return deltas


@transaction.atomic
def post(
    *,
    kind: str,
    currency: str,
    entries: Sequence[tuple[LedgerAccount, int]],
    payment: Payment | None = None,
    payout: Payout | None = None,
    refund: Refund | None = None,
    description: str = "",
) -> LedgerTransaction:
    """Write one balanced posting and move the accounts' cached balances.

    Atomic: runs in its own transaction, or in a savepoint of the caller's, so a
    refused posting writes nothing and leaves the caller's transaction usable. The
    row locks it takes on the accounts last until the *outermost* transaction ends:
    call it as late as possible in that transaction.

    Raises :class:`AppError` with code ``ledger_unbalanced`` (no entries, or a sum
    other than zero), ``ledger_invalid_amount`` (an amount that is zero, not an
    ``int`` — floats and bools are refused — or absurdly large),
    ``ledger_currency_mismatch``, ``invalid_currency``, ``insufficient_balance`` (a
    non-system account would go below zero) and ``already_posted`` (this payment
    already has a posting of this kind — or this ``payout`` or ``refund``, when one is
    given: a replay is refused, never written twice and never silently accepted,
    because its entries may differ from the first).

    The account objects passed in are not refreshed; read balances again from the
    database.
    """
    deltas = _validate(kind, currency, entries)
    ids = sorted(deltas)
    # Every account of the posting locked in one global order: the non-system ones,
    # then the system ones, each in id order (a posting waiting for a merchant's
    # payable does not hold the clearing row every payment needs).
    locked = (
        LedgerAccount.objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("is_system", "pk")
    )
    for account in locked.only("pk", "balance", "currency", "is_system"):
        if account.currency != currency:
            raise ValueError(f"ledger account {account.pk} changed under us")
        if not account.is_system and account.balance + deltas[account.pk] < 0:
            raise AppError(_("The balance is not enough for this."), code="insufficient_balance")

    try:
        # No savepoint of its own: the error is raised straight on, and this
        # function's block (a savepoint inside the caller's) rolls the insert back.
        posting = LedgerTransaction.objects.create(
            kind=kind,
            currency=currency,
            payment=payment,
            payout=payout,
            refund=refund,
            description=description[:255],
        )
    except IntegrityError:
        if payment is None and payout is None and refund is None:
            raise
        # The unique (payment | payout | refund, kind) constraints, not a prior read, decide.
        raise AppError(
            _("This payment has already been posted to the ledger."), code="already_posted"
        ) from None
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            transaction=posting, account=account, amount=amount, created_at=posting.created_at
        )
        for account, amount in entries
    )
    _move_balances(deltas)
    return posting


def _move_balances(deltas: dict[int, int]) -> None:
    """Add ``deltas`` (``{account id: amount}``, integers checked by :func:`_validate`)
    to the cached balances, in one statement; the rows are locked by the caller.
    Plain SQL: the ORM's ``Case``/``When`` update costs several times more to build
    than the statement costs to run."""
    table = connection.ops.quote_name(LedgerAccount._meta.db_table)
    ids = sorted(deltas)
    whens = " ".join("WHEN %s THEN %s" for _pk in ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET balance = balance + (CASE id {whens} END) "  # noqa: S608
            f"WHERE id IN ({', '.join('%s' for _pk in ids)})",
            [value for pk in ids for value in (pk, deltas[pk])] + ids,
        )


def post_card_payment(*, payment: Payment) -> LedgerTransaction:
    """Post a succeeded card payment to a business: debit the gateway's clearing
    account ``amount``, credit the merchant payable ``amount − fee`` and the fee
    revenue ``fee`` (an entry that would be zero is left out).

    The caller has set ``payment.status`` to succeeded in the same transaction and
    fixed ``payment.fee`` (:func:`fee_for`). At most once per payment: a second call
    raises ``AppError(code="already_posted")``.
    """
    return _post_merchant_payment(payment, CARD_PAYMENT, "card payment")


def post_pix_payment(*, payment: Payment) -> LedgerTransaction:
    """Post a succeeded collected Pix to a business, as :func:`post_card_payment`
    does (the Pix provider's clearing account ``clearing:pix_<provider>:BRL``; the fee
    is ``fee_pix_bps``'s, fixed on the payment), as kind ``pix_payment``."""
    return _post_merchant_payment(payment, PIX_PAYMENT, "Pix payment")


def _post_merchant_payment(payment: Payment, kind: str, label: str) -> LedgerTransaction:
    if payment.status != Payment.Status.SUCCEEDED:
        raise ValueError(f"only a succeeded payment is posted, not {payment.status!r}")
    if payment.business_id is None:
        raise ValueError("merchant payment postings are for merchant payments only")
    amount, fee, currency = payment.amount, payment.fee, payment.currency
    if type(amount) is not int or type(fee) is not int or not 0 <= fee <= amount or amount <= 0:
        raise AppError(
            _("Every ledger entry needs a non-zero whole number of minor units."),
            code="ledger_invalid_amount",
        )
    clearing, merchant, revenue = _accounts(
        _clearing(payment.gateway, currency),
        _merchant(payment.business_id, currency),
        _revenue(currency),
    )
    entries = [(clearing, -amount), (merchant, amount - fee), (revenue, fee)]
    return post(
        kind=kind,
        currency=currency,
        entries=[(account, value) for account, value in entries if value != 0],
        payment=payment,
        description=f"{label} {payment.pk}",
    )


def post_p2p_payment(*, payment: Payment) -> LedgerTransaction:
    """Post a succeeded person-to-person payment (no fee): debit the gateway's clearing
    account ``amount``, credit the payee's wallet ``amount``. At most once per payment
    (``already_posted``)."""
    if payment.status != Payment.Status.SUCCEEDED:
        raise ValueError(f"only a succeeded payment is posted, not {payment.status!r}")
    if payment.payee_id is None or payment.fee != 0:
        raise ValueError("post_p2p_payment posts fee-free person-to-person payments only")
    currency = payment.currency
    return post(
        kind=P2P_PAYMENT,
        currency=currency,
        entries=[
            (clearing_account(payment.gateway, currency), -payment.amount),
            (wallet_account(payment.payee, currency), payment.amount),
        ],
        payment=payment,
        description=f"person-to-person payment {payment.pk}",
    )


def _refund_entries(refund: Refund, payment: Payment, sign: int) -> list:
    merchant, revenue, clearing = _accounts(
        _merchant(payment.business_id, refund.currency),
        _revenue(refund.currency),
        _clearing(refund.gateway, refund.currency),
    )
    entries = [
        (merchant, -sign * (refund.amount - refund.fee)),
        (revenue, -sign * refund.fee),
        (clearing, sign * refund.amount),
    ]
    return [(account, value) for account, value in entries if value != 0]


def post_refund(*, refund: Refund, payment: Payment) -> LedgerTransaction:
    """Post a refund when it is claimed: debit the merchant payable ``amount − fee``
    and the fee revenue ``fee`` (our fee's share goes back; the gateway's own fee does
    not), credit the clearing account ``amount``. AppError ``insufficient_balance``
    when the merchant's payable balance cannot cover it (nothing written)."""
    return post(
        kind=REFUND,
        currency=refund.currency,
        entries=_refund_entries(refund, payment, +1),
        payment=payment,
        refund=refund,
        description=f"refund {refund.pk} of payment {payment.pk}",
    )


def post_refund_reversal(*, refund: Refund, payment: Payment) -> LedgerTransaction:
    """The gateway refused a claimed refund: the exact opposite of :func:`post_refund`
    (ledger rows are never changed or deleted; a correction is a new posting)."""
    return post(
        kind=REFUND_REVERSAL,
        currency=refund.currency,
        entries=_refund_entries(refund, payment, -1),
        payment=payment,
        refund=refund,
        description=f"refund {refund.pk} failed: reversal",
    )


# --- Retention ---------------------------------------------------------------------

RETENTION_SUMMARY = "retention_summary"
RETENTION_MEMO = "Records past the retention period"


def replace_with_summary(
    *, transaction_ids: Sequence[int], summaries: dict[str, LedgerTransaction]
) -> int:
    """Delete the postings ``transaction_ids`` (and their entries) and add, per
    account, the net of their entries to the summary posting of its currency — kind
    ``retention_summary``, no payment, payout or refund — taken from ``summaries``
    (``{currency: posting}``, filled here on first need, so one run of the caller
    makes one per currency). Every account's entries keep their sum, so the cached
    balances stay as they are and are not touched (no account lock); the deleted
    postings each summed to zero, so the summary's new entries do too (the deferred
    trigger checks it at commit). An account whose deleted entries net to zero gets
    no entry (entries are never zero). How many postings were deleted.

    For ``privacy.services.retention`` only, inside its transaction, which has
    allowed the DELETE on PostgreSQL (``conversa.retention``, payments migration
    0011); elsewhere the triggers refuse it, as they should.
    """
    if not transaction_ids:
        return 0
    nets = (
        LedgerEntry.objects.filter(transaction_id__in=transaction_ids)
        .values_list("account_id", "account__currency")
        .annotate(net=Sum("amount"))
        .order_by("account_id")
    )
    by_currency: dict[str, list[tuple[int, int]]] = {}
    for account_id, currency, net in nets:
        if net:
            by_currency.setdefault(currency, []).append((account_id, net))
    LedgerEntry.objects.filter(transaction_id__in=transaction_ids).delete()
    deleted, _rows = LedgerTransaction.objects.filter(pk__in=transaction_ids).delete()
    for currency, nets_of in by_currency.items():
        if sum(net for _account, net in nets_of) != 0:
            raise ValueError(f"the deleted {currency} postings did not balance")
        summary = summaries.get(currency)
        if summary is None:
            summary = summaries[currency] = LedgerTransaction.objects.create(
                kind=RETENTION_SUMMARY, currency=currency, description=RETENTION_MEMO
            )
        LedgerEntry.objects.bulk_create(
            LedgerEntry(
                transaction=summary, account_id=account, amount=net,
                created_at=summary.created_at,
            )
            for account, net in nets_of
        )  # fmt: skip
    return deleted
