"""The bank that sends payouts (TED to a bank account, or Pix), behind a small
interface like the card gateway's. ``get_payout_bank()`` returns the one
``settings.PAYOUT_BANK`` names; only the built-in ``sandbox`` exists (no network,
deterministic — see docs/payments.md, "Payouts").

A transfer is asked for with the payout's idempotency key (a repeat returns the same
transfer) and is confirmed later: :meth:`PayoutBank.retrieve` tells whether it was
paid or failed, and why.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import AppError


@dataclass(frozen=True)
class TransferResult:
    status: str  # "pending" | "paid" | "failed"
    reference: str
    failure_code: str = ""
    failure_message: str = ""


class PayoutBank(Protocol):
    name: str

    def transfer(
        self, *, destination, amount: int, currency: str, idempotency_key: str
    ) -> TransferResult: ...

    def retrieve(self, reference: str) -> TransferResult: ...


FAILURE_MESSAGES = {
    "pix_key_not_found": gettext_lazy("The bank found no account with this Pix key."),
    "account_closed": gettext_lazy("The destination bank account is closed."),
    "invalid_account": gettext_lazy("The bank did not accept the account details."),
}


def failure_message(code: str, stored: str = "") -> str:
    """The reason for a refused transfer in the active language: ours for a code we
    know (stored text is in whatever language the worker ran in), else the bank's
    ``stored`` text, else a generic one."""
    if code in FAILURE_MESSAGES:
        return str(FAILURE_MESSAGES[code])
    return stored or _("The bank refused the transfer.")


class SandboxBank:
    """Deterministic, no network. A Pix e-mail key whose name starts with ``fail``
    (``fail@example.com``) or a random key starting ``00000000`` fails with
    ``pix_key_not_found``; a bank account number starting ``999`` fails with
    ``account_closed``; everything else is paid. The outcome is written into the
    reference (like the sandbox card tokens), so nothing is kept in memory or cache
    and a restart changes nothing."""

    name = "sandbox"
    _REFERENCE = re.compile(r"po_sandbox_(ok|pix_key_not_found|account_closed)_[0-9a-f]{24}")

    def _outcome(self, destination) -> str:
        if destination.kind == "pix":
            if destination.pix_key_type == "email" and destination.pix_key.startswith("fail"):
                return "pix_key_not_found"
            if destination.pix_key_type == "random" and destination.pix_key.startswith("00000000"):
                return "pix_key_not_found"
            return "ok"
        return "account_closed" if destination.account_number.startswith("999") else "ok"

    def transfer(
        self, *, destination, amount: int, currency: str, idempotency_key: str
    ) -> TransferResult:
        if type(amount) is not int or amount <= 0:
            raise AppError(_("The amount must be positive."), code="amount_invalid")
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return TransferResult(
            status="pending", reference=f"po_sandbox_{self._outcome(destination)}_{digest}"
        )

    def retrieve(self, reference: str) -> TransferResult:
        match = self._REFERENCE.fullmatch(reference or "")
        if match is None:
            raise AppError(_("Unknown transfer."), code="transfer_unknown")
        outcome = match.group(1)
        if outcome == "ok":
            return TransferResult(status="paid", reference=reference)
        return TransferResult(
            status="failed",
            reference=reference,
            failure_code=outcome,
            failure_message=failure_message(outcome),
        )


def get_payout_bank(name: str | None = None) -> PayoutBank:
    name = name or settings.PAYOUT_BANK
    if name == "sandbox":
        return SandboxBank()
    raise ImproperlyConfigured(f"Unknown PAYOUT_BANK {name!r}: use 'sandbox'.")
