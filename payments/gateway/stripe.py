"""Stripe adapter: PaymentMethods and PaymentIntents through the ``stripe`` package.

``tokenize`` sends the raw card number to Stripe from the server
(``PaymentMethod.create(type="card", card={...})``). Stripe allows that only in test
mode (or for PCI-DSS level 1 accounts); it is here so the adapter can be exercised end
to end against Stripe's test mode and its test cards. In production collect the card
in the browser with Stripe Elements and keep only the resulting ``pm_...`` id — the
rest of this adapter (``charge``, ``complete_action``, ``refund``) is the same.

Card numbers never reach a log: the ``stripe`` library logs its request bodies at
DEBUG on the ``stripe`` logger, so a filter on that logger masks card numbers and
CVCs. Do not set ``STRIPE_LOG`` (it prints bodies to stderr, past logging).
"""

import logging
import re

import stripe
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.errors import AppError
from payments.gateway.base import (
    VISA,
    CardDetails,
    ChargeResult,
    TokenizedCard,
    check_card,
    failure_message,
    normalize_number,
)

logger = logging.getLogger(__name__)

_CARD_FIELD = re.compile(r"(card(?:%5B|\[)(?:number|cvc)(?:%5D|\])=)[^&\s'\"]*")
_DIGITS = re.compile(r"\d(?:[ -]?\d){11,18}")


class MaskCardNumbers(logging.Filter):
    """Masks ``card[number]``/``card[cvc]`` values and any 12–19 digit run."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _DIGITS.sub("[card number]", _CARD_FIELD.sub(r"\1[masked]", message))
        if masked != message:
            record.msg, record.args = masked, None
        return True


logging.getLogger("stripe").addFilter(MaskCardNumbers())

# Stripe's codes -> the field the customer must fix.
_FIELD_FOR_CODE = {
    "incorrect_number": "number",
    "invalid_number": "number",
    "card_declined": "number",
    "expired_card": "expiry",
    "invalid_expiry_month": "expiry",
    "invalid_expiry_year": "expiry",
    "incorrect_cvc": "cvc",
    "invalid_cvc": "cvc",
}
# Our failure codes, from Stripe's error code and decline code.
_KNOWN_FAILURES = {"insufficient_funds", "expired_card", "incorrect_cvc", "processing_error"}


def _failure_code(error: stripe.StripeError) -> str:
    info = error.error
    decline_code = getattr(info, "decline_code", None) or ""
    for code in (decline_code, error.code or ""):
        if code in _KNOWN_FAILURES:
            return code
    if error.code == "payment_intent_authentication_failure":
        return "authentication_failed"
    return "card_declined"


def _unavailable(error: Exception) -> AppError:
    logger.warning("Stripe unavailable: %s", type(error).__name__)
    return AppError(
        _("The payment service is unavailable. Try again in a moment."),
        code="gateway_unavailable",
        status_code=503,
    )


# The PaymentIntent metadata field that carries the attempt's idempotency key.
KEY_METADATA = "conversa_idempotency_key"


class StripeGateway:
    name = "stripe"
    # Seconds after a charge before ``find_charge`` may be trusted to have seen it
    # (Stripe: search data is usually fresh within a minute; more during incidents).
    search_lag = 5 * 60

    def __init__(self, *, api_key: str):
        self.api_key = api_key

    def tokenize(self, card: CardDetails) -> TokenizedCard:
        check_card(card)
        try:
            method = stripe.PaymentMethod.create(
                api_key=self.api_key,
                type="card",
                card={
                    "number": normalize_number(card.number),
                    "exp_month": card.exp_month,
                    "exp_year": card.exp_year,
                    "cvc": card.cvc,
                },
                billing_details={"name": card.holder_name},
            )
        except stripe.CardError as exc:
            code = _failure_code(exc)
            raise AppError(
                failure_message(code),
                code=code,
                field=_FIELD_FOR_CODE.get(exc.code or "", "number"),
            ) from None
        except stripe.StripeError as exc:
            raise _unavailable(exc) from None
        details = method.card
        if details.brand not in (VISA, "mastercard"):
            raise AppError(
                _("We accept only Visa and Mastercard."),
                code="card_brand_unsupported",
                field="number",
            )
        return TokenizedCard(
            token=method.id,
            brand=details.brand,
            funding="debit" if details.funding == "debit" else "credit",
            last4=details.last4,
            exp_month=details.exp_month,
            exp_year=details.exp_year,
        )

    def detach(self, token: str) -> None:
        try:
            stripe.PaymentMethod.detach(token, api_key=self.api_key)
        except stripe.InvalidRequestError:
            return  # already detached or unknown: nothing left to delete
        except stripe.StripeError as exc:
            raise _unavailable(exc) from None

    def charge(
        self, *, token: str, amount: int, currency: str, idempotency_key: str, description: str
    ) -> ChargeResult:
        """One PaymentIntent per idempotency key (Stripe's ``Idempotency-Key`` header):
        Stripe replays the first response; other parameters -> ``IdempotencyError``."""
        try:
            intent = stripe.PaymentIntent.create(
                api_key=self.api_key,
                idempotency_key=idempotency_key,
                amount=amount,
                currency=currency.lower(),
                payment_method=token,
                payment_method_types=["card"],
                confirm=True,
                description=description,
                # So the intent can be found by our key if we never learn its id
                # (find_charge): Stripe forgets idempotency keys after 24 hours.
                metadata={KEY_METADATA: idempotency_key},
                return_url=settings.SITE_URL.rstrip("/") + reverse("wallet"),
                expand=["latest_charge"],
            )
        except stripe.CardError as exc:
            code = _failure_code(exc)
            intent = getattr(exc.error, "payment_intent", None)
            return ChargeResult(
                ChargeResult.FAILED,
                reference=getattr(intent, "id", "") or "",
                failure_code=code,
                failure_message=failure_message(code),
            )
        except stripe.IdempotencyError:
            raise AppError(
                _("This idempotency key was already used for another charge."),
                code="idempotency_key_reused",
            ) from None
        except stripe.StripeError as exc:
            raise _unavailable(exc) from None
        return self._result(intent)

    def complete_action(self, *, reference: str, approve: bool) -> ChargeResult:
        """With Stripe the customer answers the bank on Stripe's page; this reads the
        outcome (and cancels the intent when the customer gave up)."""
        try:
            intent = stripe.PaymentIntent.retrieve(
                reference, api_key=self.api_key, expand=["latest_charge"]
            )
            if intent.status == "requires_action" and not approve:
                intent = stripe.PaymentIntent.cancel(reference, api_key=self.api_key)
        except stripe.StripeError as exc:
            raise _unavailable(exc) from None
        return self._result(intent)

    def find_charge(self, *, idempotency_key: str) -> ChargeResult | None:
        """The PaymentIntent whose metadata carries ``idempotency_key`` (``charge`` puts
        it there), found with ``PaymentIntent.search``; None when there is none.

        Search rather than re-sending the create with the same Idempotency-Key: a
        re-send would *make* the charge when the first request never reached Stripe
        (and needs the card token and amount), and Stripe forgets keys after 24 h.
        Stripe's search index lags writes (usually under a minute): a None is
        trusted only for payments older than :attr:`search_lag` (recovery waits)."""
        query = "metadata['{}']:'{}'".format(
            KEY_METADATA, idempotency_key.replace("\\", "\\\\").replace("'", "\\'")
        )
        try:
            found = stripe.PaymentIntent.search(
                api_key=self.api_key, query=query, limit=1, expand=["data.latest_charge"]
            )
        except stripe.StripeError as exc:
            raise _unavailable(exc) from None
        intents = found.to_dict().get("data") or []
        if not intents:
            return None
        return self._result(stripe.PaymentIntent.construct_from(intents[0], self.api_key))

    def retrieve(self, reference: str) -> ChargeResult:
        try:
            intent = stripe.PaymentIntent.retrieve(
                reference, api_key=self.api_key, expand=["latest_charge"]
            )
        except stripe.StripeError as exc:
            raise _unavailable(exc) from None
        return self._result(intent)

    def refund(self, *, reference: str, amount: int, idempotency_key: str) -> str:
        try:
            refund = stripe.Refund.create(
                api_key=self.api_key,
                idempotency_key=idempotency_key,
                payment_intent=reference,
                amount=amount,
            )
        except stripe.IdempotencyError:
            raise AppError(
                _("This idempotency key was already used for another refund."),
                code="idempotency_key_reused",
            ) from None
        except stripe.InvalidRequestError as exc:
            raise AppError(_("This charge cannot be refunded."), code="refund_invalid") from exc
        except stripe.StripeError as exc:
            raise _unavailable(exc) from None
        return refund.id

    def _result(self, intent) -> ChargeResult:
        intent = intent.to_dict()
        funding = ""
        charge = intent.get("latest_charge")
        if charge and not isinstance(charge, str):
            card = (charge.get("payment_method_details") or {}).get("card") or {}
            funding = "debit" if card.get("funding") == "debit" else "credit"
        status, reference = intent["status"], intent["id"]
        if status == "succeeded":
            return ChargeResult(ChargeResult.SUCCEEDED, reference, funding=funding)
        if status == "requires_action":
            next_action = intent.get("next_action") or {}
            url = (next_action.get("redirect_to_url") or {}).get("url", "")
            return ChargeResult(
                ChargeResult.REQUIRES_ACTION, reference, action_url=url, funding=funding
            )
        if status in ("requires_payment_method", "canceled"):
            error = intent.get("last_payment_error") or {}
            code = error.get("decline_code") or error.get("code") or ""
            if code not in _KNOWN_FAILURES:
                code = (
                    "authentication_failed"
                    if code == "payment_intent_authentication_failure" or status == "canceled"
                    else "card_declined"
                )
            return ChargeResult(
                ChargeResult.FAILED,
                reference,
                failure_code=code,
                failure_message=failure_message(code),
                funding=funding,
            )
        # "processing" (or anything new): not an outcome yet. The caller keeps the
        # payment pending; charging again with the same key reads it later.
        raise AppError(
            _("The payment is still being processed. Try again in a moment."),
            code="gateway_pending",
            status_code=503,
        )
