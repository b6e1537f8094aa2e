"""The built-in sandbox gateway: Stripe's test cards and their behaviours, no network.

It refuses every number that is not one of Stripe's test cards ("not a test card"),
so a real card number typed into a demo is rejected, never stored.

State (charges, idempotency keys, 3-D Secure decisions) lives in Django's default
cache — Redis in production, so every web process and worker sees it — for
``STATE_TIMEOUT`` (7 days; Stripe keeps idempotency keys 24 h). A token carries its
own test behaviour (``tok_sandbox_<brand>_<funding>_<behaviour>_<random>``), so a saved
card keeps working after the cache is emptied or a process restarts; it holds nothing
of the card number.
"""

import hashlib
import json
import secrets
from dataclasses import asdict

from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.errors import AppError
from payments.gateway.base import (
    CardDetails,
    ChargeResult,
    TokenizedCard,
    check_card,
    failure_message,
    normalize_number,
)

STATE_TIMEOUT = 7 * 24 * 3600
TOKEN_PREFIX = "tok_sandbox_"  # noqa: S105 - a prefix, not a secret

# Behaviours: "ok" succeeds; the ``attach_*`` ones fail when the card is added (the
# customer never gets to pay with it); the others attach and fail when charged;
# "3ds" asks for 3-D Secure, then succeeds or fails as the challenge page says.
OK, THREE_DS = "ok", "3ds"
ATTACH_FAILURES = {
    "declined": ("card_declined", "number"),
    "expired": ("expired_card", "expiry"),
    "cvc": ("incorrect_cvc", "cvc"),
}
CHARGE_FAILURES = {
    "funds": "insufficient_funds",
    "processing": "processing_error",
    "chargefail": "card_declined",
}

# Stripe's test numbers: number -> (funding, behaviour).
TEST_CARDS = {
    "4242424242424242": ("credit", OK),
    "5555555555554444": ("credit", OK),
    "4000056655665556": ("debit", OK),
    "5200828282828210": ("debit", OK),
    "4000000000000002": ("credit", "declined"),
    "4000000000009995": ("credit", "funds"),
    "4000000000000069": ("credit", "expired"),
    "4000000000000127": ("credit", "cvc"),
    "4000000000000119": ("credit", "processing"),
    "4000000000000341": ("credit", "chargefail"),
    "4000002760003184": ("credit", THREE_DS),
}

ATTACH_MESSAGES = {
    "card_declined": _("The card was declined. Try another card."),
    "expired_card": _("This card has expired."),
    "incorrect_cvc": _("The security code (CVC) is incorrect."),
}


def _key(kind: str, value: str) -> str:
    # Idempotency keys come from callers: hash them into a short, safe cache key.
    return f"payments:sandbox:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _parse_token(token: str) -> tuple[str, str, str]:
    """(brand, funding, behaviour) of one of our tokens; AppError for anything else."""
    parts = token.split("_") if token.startswith(TOKEN_PREFIX) else []
    if len(parts) == 6:
        brand, funding, behaviour = parts[2:5]
        known = behaviour in (OK, THREE_DS) or behaviour in CHARGE_FAILURES
        if known and brand in ("visa", "mastercard") and funding in ("credit", "debit"):
            return brand, funding, behaviour
    raise AppError(
        _("This card cannot be charged. Remove it and add it again."), code="card_token_unknown"
    )


class SandboxGateway:
    name = "sandbox"
    search_lag = 0  # find_charge reads the same cache entry charge writes

    def tokenize(self, card: CardDetails) -> TokenizedCard:
        brand = check_card(card)
        number = normalize_number(card.number)
        if number not in TEST_CARDS:
            raise AppError(
                _(
                    "This is not a test card. The sandbox accepts only test card numbers, "
                    "such as 4242 4242 4242 4242."
                ),
                code="not_test_card",
                field="number",
            )
        funding, behaviour = TEST_CARDS[number]
        if behaviour in ATTACH_FAILURES:
            code, field = ATTACH_FAILURES[behaviour]
            raise AppError(ATTACH_MESSAGES[code], code=code, field=field)
        token = f"{TOKEN_PREFIX}{brand}_{funding}_{behaviour}_{secrets.token_hex(12)}"
        return TokenizedCard(
            token=token,
            brand=brand,
            funding=funding,
            last4=number[-4:],
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )

    def charge(
        self, *, token: str, amount: int, currency: str, idempotency_key: str, description: str
    ) -> ChargeResult:
        """Idempotent per key (claimed with an atomic ``cache.add``): a repeat returns
        the first charge in its current state (a 3-D Secure charge completed since
        reads as succeeded/failed); other parameters under the same key raise."""
        if not idempotency_key:
            raise AppError(_("A charge needs an idempotency key."), code="idempotency_key_missing")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise AppError(_("The amount must be a positive whole number."), code="amount_invalid")
        params = json.dumps([token, amount, currency.upper(), description])
        key = _key("charge-key", idempotency_key)
        first = cache.get(key)
        if first is None:
            _brand, funding, behaviour = _parse_token(token)
            if self.is_detached(token):
                raise AppError(
                    _("This card cannot be charged. Remove it and add it again."),
                    code="card_token_unknown",
                )
            reference = f"ch_sandbox_{secrets.token_hex(12)}"
            if behaviour == OK:
                result = ChargeResult(ChargeResult.SUCCEEDED, reference, funding=funding)
            elif behaviour == THREE_DS:
                result = ChargeResult(
                    ChargeResult.REQUIRES_ACTION,
                    reference,
                    action_url=reverse("wallet_sandbox_3ds", args=[reference]),
                    funding=funding,
                )
            else:
                code = CHARGE_FAILURES[behaviour]
                result = ChargeResult(
                    ChargeResult.FAILED,
                    reference,
                    failure_code=code,
                    failure_message=failure_message(code),
                    funding=funding,
                )
            self._save(result, amount=amount, currency=currency.upper())
            if cache.add(key, {"params": params, "reference": reference}, STATE_TIMEOUT):
                return result
            first = cache.get(key)  # another request claimed the key first: use its charge
            if first is None:  # pragma: no cover - evicted in between
                raise AppError(_("Try again."), code="gateway_busy", status_code=409)
        if first["params"] != params:
            raise AppError(
                _("This idempotency key was already used for another charge."),
                code="idempotency_key_reused",
            )
        return self.retrieve(first["reference"])

    def find_charge(self, *, idempotency_key: str) -> ChargeResult | None:
        """The charge ``charge`` recorded under ``idempotency_key`` (the same cache entry
        that makes it idempotent), or None when no charge was made with it."""
        first = cache.get(_key("charge-key", idempotency_key)) if idempotency_key else None
        if first is None:
            return None
        return self.retrieve(first["reference"])

    def complete_action(self, *, reference: str, approve: bool) -> ChargeResult:
        """The 3-D Secure decision, taken once: a later call returns the charge as
        decided (``cache.add`` claims the decision)."""
        state = self._state(reference)
        result = self.retrieve(reference)
        if result.status != ChargeResult.REQUIRES_ACTION:
            return result
        if cache.add(_key("action", reference), approve, STATE_TIMEOUT):
            if approve:
                result = ChargeResult(ChargeResult.SUCCEEDED, reference, funding=result.funding)
            else:
                code = "authentication_failed"
                result = ChargeResult(
                    ChargeResult.FAILED,
                    reference,
                    failure_code=code,
                    failure_message=failure_message(code),
                    funding=result.funding,
                )
            self._save(result, amount=state["amount"], currency=state["currency"])
        return self.retrieve(reference)

    def refund(self, *, reference: str, amount: int, idempotency_key: str) -> str:
        """Refund part of a succeeded charge; keyed like ``charge``. The refunded total
        is kept by a cache counter (atomic ``incr``)."""
        key = _key("refund-key", idempotency_key)
        params = json.dumps([reference, amount])
        first = cache.get(key)
        if first is not None:
            if first["params"] != params:
                raise AppError(
                    _("This idempotency key was already used for another refund."),
                    code="idempotency_key_reused",
                )
            return first["refund"]
        state = self._state(reference)
        if state["status"] != ChargeResult.SUCCEEDED:
            raise AppError(_("Only a succeeded charge can be refunded."), code="refund_invalid")
        if not isinstance(amount, int) or amount <= 0:
            raise AppError(_("The amount must be a positive whole number."), code="amount_invalid")
        refunded_key = _key("refunded", reference)
        cache.add(refunded_key, 0, STATE_TIMEOUT)
        refund_id = f"re_sandbox_{secrets.token_hex(12)}"
        if not cache.add(key, {"params": params, "refund": refund_id}, STATE_TIMEOUT):
            return self.refund(reference=reference, amount=amount, idempotency_key=idempotency_key)
        if cache.incr(refunded_key, amount) > state["amount"]:
            cache.decr(refunded_key, amount)
            cache.delete(key)
            raise AppError(_("The refund is larger than the charge."), code="refund_too_large")
        return refund_id

    def detach(self, token: str) -> None:
        cache.set(_key("detached", token), True, STATE_TIMEOUT)

    def is_detached(self, token: str) -> bool:
        """Whether ``detach`` was called for ``token`` (for tests and the demo)."""
        return bool(cache.get(_key("detached", token)))

    # --- State in the cache ---------------------------------------------------------

    def _save(self, result: ChargeResult, *, amount: int, currency: str) -> None:
        state = asdict(result) | {"amount": amount, "currency": currency}
        cache.set(_key("charge", result.reference), state, STATE_TIMEOUT)

    def _state(self, reference: str) -> dict:
        state = cache.get(_key("charge", reference)) if reference else None
        if state is None:
            raise AppError(_("Unknown charge."), code="charge_unknown", status_code=404)
        return state

    def retrieve(self, reference: str) -> ChargeResult:
        state = self._state(reference)
        return ChargeResult(
            status=state["status"],
            reference=state["reference"],
            failure_code=state["failure_code"],
            failure_message=state["failure_message"],
            action_url=state["action_url"],
            funding=state["funding"],
        )
