"""The card gateway interface (docs/payments.md, "Gateway"): what every gateway
takes and returns. Card numbers and CVCs live only in a :class:`CardDetails` for the
length of one ``tokenize`` call; its ``repr`` masks them, so a traceback, a log line
or Django's error page never shows them."""

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.cards import luhn_ok, refuse_card_number
from core.errors import AppError


@dataclass(frozen=True)
class CardDetails:
    """What the customer typed; never stored, never logged (``repr`` masks it)."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str
    holder_name: str

    def __repr__(self) -> str:
        last4 = self.number[-4:] if len(self.number) >= 4 else ""
        return (
            f"CardDetails(number='•••• {last4}', exp_month={self.exp_month}, "
            f"exp_year={self.exp_year}, cvc='•••', holder_name={self.holder_name!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class TokenizedCard:
    """What we keep."""

    token: str
    brand: str  # "visa" | "mastercard"
    funding: str  # "credit" | "debit"
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class ChargeResult:
    status: str  # "succeeded" | "failed" | "requires_action"
    reference: str  # the gateway's id for the charge
    failure_code: str = ""  # "card_declined", "insufficient_funds", "expired_card",
    failure_message: str = ""  # "incorrect_cvc", "processing_error"
    action_url: str = ""  # 3-D Secure: where to send the customer
    funding: str = ""  # "credit" | "debit" (the payout delay depends on it)

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"


class Gateway(Protocol):
    name: str
    # Seconds after a charge is made before ``find_charge`` is sure to see it.
    search_lag: int

    def tokenize(self, card: CardDetails) -> TokenizedCard:
        """Validate and attach the card; AppError (with the ``field`` at fault) when it
        is invalid or declined at attach."""
        ...

    def charge(
        self, *, token: str, amount: int, currency: str, idempotency_key: str, description: str
    ) -> ChargeResult:
        """Charge ``amount`` minor units. Idempotent per ``idempotency_key``: a repeat
        returns the first charge (in its current state); the same key with other
        parameters raises AppError ``idempotency_key_reused``. A decline is a
        ``failed`` result, not an exception."""
        ...

    def complete_action(self, *, reference: str, approve: bool) -> ChargeResult:
        """Finish a ``requires_action`` (3-D Secure) charge."""
        ...

    def retrieve(self, reference: str) -> ChargeResult:
        """The charge as it stands now (after a 3-D Secure challenge, say)."""
        ...

    def find_charge(self, *, idempotency_key: str) -> ChargeResult | None:
        """The charge made with ``idempotency_key`` as it stands now, or None when the
        gateway has none: how a payment whose process died between the charge and its
        settlement learns its outcome without knowing the charge's reference
        (``payments.services.recovery``). Never creates a charge. AppError
        ``gateway_unavailable``/``gateway_pending`` when the gateway cannot tell now."""
        ...

    def refund(self, *, reference: str, amount: int, idempotency_key: str) -> str:
        """Refund part or all of a succeeded charge; returns the refund's id."""
        ...

    def detach(self, token: str) -> None:
        """Delete a saved card at the gateway (its holder erased their account): the
        token can never be charged again. Idempotent; AppError ``gateway_unavailable``
        when the gateway cannot be reached."""
        ...


# --- Checks every gateway makes before it calls anyone ----------------------------------

VISA = "visa"
MASTERCARD = "mastercard"


def normalize_number(number: str) -> str:
    """The digits of a typed card number (customers type spaces and dashes)."""
    return "".join(ch for ch in str(number) if ch not in " -")


def brand_of(number: str) -> str:
    """ "visa", "mastercard" or "" (by the issuer prefix)."""
    if number.startswith("4") and len(number) in (13, 16, 19):
        return VISA
    if len(number) == 16 and (51 <= int(number[:2]) <= 55 or 2221 <= int(number[:4]) <= 2720):
        return MASTERCARD
    return ""


def check_card(card: CardDetails, *, today: date | None = None) -> str:
    """Validate what the customer typed (number, brand, expiry, CVC, name) and return
    the brand; AppError naming the field at fault otherwise. Gateway-independent."""
    number = normalize_number(card.number)
    if not (number.isdigit() and 12 <= len(number) <= 19) or not luhn_ok(number):
        raise AppError(
            _("This card number is not valid. Check it and try again."),
            code="card_number_invalid",
            field="number",
        )
    brand = brand_of(number)
    if not brand:
        raise AppError(
            _("We accept only Visa and Mastercard."), code="card_brand_unsupported", field="number"
        )
    today = today or timezone.localdate()
    month, year = card.exp_month, card.exp_year
    if not (isinstance(month, int) and isinstance(year, int) and 1 <= month <= 12):
        raise AppError(_("Enter the expiry as MM/YY."), code="expiry_invalid", field="expiry")
    if (year, month) < (today.year, today.month):
        raise AppError(_("This card has expired."), code="expired_card", field="expiry")
    if year > today.year + 20:
        raise AppError(_("Enter the expiry as MM/YY."), code="expiry_invalid", field="expiry")
    if not (card.cvc.isdigit() and len(card.cvc) == 3):
        raise AppError(
            _("The security code (CVC) is the 3 digits on the back of the card."),
            code="cvc_invalid",
            field="cvc",
        )
    if not card.holder_name.strip():
        raise AppError(
            _("Enter the name as it is printed on the card."),
            code="holder_name_missing",
            field="holder_name",
        )
    refuse_card_number(card.holder_name, field="holder_name")
    return brand


# Why a charge failed, by ChargeResult.failure_code, in the reader's language.
FAILURE_MESSAGES = {
    "card_declined": _("The card was declined. Try another card."),
    "insufficient_funds": _("The card has insufficient funds. Try another card."),
    "expired_card": _("This card has expired."),
    "incorrect_cvc": _("The security code (CVC) is incorrect."),
    "processing_error": _(
        "The card could not be processed. Try again in a moment or use another card."
    ),
    "authentication_failed": _("The bank could not verify this payment (3-D Secure)."),
}


def failure_message(code: str) -> str:
    return str(FAILURE_MESSAGES.get(code, FAILURE_MESSAGES["card_declined"]))
