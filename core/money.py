"""Money: integer minor units plus an ISO 4217 currency. Never a float.

Parsing and formatting go through Babel, so ``19,90`` in pt-BR and ``19.90`` in
English both mean 1990 centavos, and amounts print the way the viewer reads them:
``R$ 1.234,56`` in pt-BR and Spanish, ``1 234,56 R$`` in French, ``R$1,234.56`` in English.
"""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_precision,
    parse_decimal,
)
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

from core.errors import AppError

# ASCII digits only (re.ASCII): Python's \d and Decimal() also take Arabic-Indic
# "١٢٣", full-width "１２３" and other Unicode digits, which no one types on purpose.
_NUMBER = re.compile(r"-?\s*[0-9][0-9 .,]*", re.ASCII)
MAX_MINOR = 10**12  # ten billion reais: anything above is a typo, not a price

# Where CLDR's own pattern is not how our readers write money. CLDR's Spanish (Spain)
# writes reais by their code, "1.234,56 BRL"; Conversa's Spanish readers are Brazil's
# neighbours and its customers, who read "R$ 1.234,56": Spanish amounts take Brazil's
# symbols and pattern (the same digits: "." groups, "," decimals).
_MONEY_LOCALE = {"es": "pt_BR"}

# French and Spanish amounts are typed in several unambiguous ways besides CLDR's own
# ("1 234,56" in French, "1.234,56" in Spanish): grouped by spaces or by dots with a
# decimal comma, or a bare decimal point with one or two decimals ("1234.56"; never
# "1.234", which stays a thousand in Spanish as in pt-BR). Each is rewritten as
# "1234,56" before Babel reads it.
_LENIENT_LANGUAGES = {"fr", "es"}
_GROUPED = re.compile(r"[0-9]{1,3}(?P<sep>[ .])[0-9]{3}(?:(?P=sep)[0-9]{3})*(?:,[0-9]+)?", re.ASCII)
_POINT_DECIMAL = re.compile(r"[0-9]+\.[0-9]{1,2}", re.ASCII)


def babel_locale(language: str | None = None) -> str:
    return to_locale(language or get_language() or "en")


def _local_spelling(text: str, locale: str) -> str:
    """``text`` (spaces already plain) with the other local spellings of an amount
    rewritten as ``1234,56`` in French and Spanish; unchanged otherwise."""
    if locale.split("_")[0] not in _LENIENT_LANGUAGES:
        return text
    sign, body = ("-", text[1:].strip()) if text.startswith("-") else ("", text)
    if _GROUPED.fullmatch(body):
        body = body.replace(" ", "").replace(".", "")
    elif _POINT_DECIMAL.fullmatch(body):
        body = body.replace(".", ",")
    return sign + body


def minor_digits(currency: str) -> int:
    return get_currency_precision(currency)


def to_minor(amount: Decimal, currency: str) -> int:
    digits = minor_digits(currency)
    quantum = Decimal(1).scaleb(-digits)
    if amount != amount.quantize(quantum):
        raise AppError(
            _("Use at most %(n)s decimal places.") % {"n": digits}, code="money_precision"
        )
    return int((amount * (10**digits)).to_integral_value(rounding=ROUND_HALF_UP))


def from_minor(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_digits(currency))


def check_minor(
    value: Any, *, field: str = "amount", positive: bool = False, zero_message: str = ""
) -> int:
    """``value``, an amount in minor units handed to a service (orders, refunds,
    payments between people), checked: an ``int`` (not a bool, float or string), never
    above ``MAX_MINOR``, and above zero when ``positive`` (``zero_message`` says so in
    the caller's words), else not negative. AppError on ``field`` otherwise."""
    if type(value) is not int:
        raise AppError(_("Amounts are whole numbers of cents."), code="invalid_amount", field=field)
    if positive and value <= 0:
        raise AppError(
            zero_message or _("The amount must be more than zero."),
            code="amount_not_positive",
            field=field,
        )
    if value < 0:
        raise AppError(_("The amount cannot be negative."), code="money_negative", field=field)
    if value > MAX_MINOR:
        raise AppError(_("That amount is too large."), code="money_too_large", field=field)
    return value


def per(amount: int, count: int) -> int | None:
    """``amount`` (minor units) per ``count`` (an average), rounded half up to a minor
    unit; None when there is nothing to divide by."""
    if not count:
        return None
    return int((Decimal(amount) / count).to_integral_value(ROUND_HALF_UP))


def parse_money(text: str, currency: str, *, language: str | None = None) -> int:
    """``"19,90"`` (pt-BR) or ``"19.90"`` (en) → 1990. Raises AppError on anything else."""
    # No-break spaces (U+00A0, and U+202F, French's group separator) as typed or pasted.
    text = (text or "").strip().replace("\u00a0", " ").replace("\u202f", " ")
    for symbol in ("R$", "$", "€", currency):
        text = text.replace(symbol, "")
    text = text.strip()
    if not text:
        raise AppError(_("Enter an amount."), code="money_required")
    try:
        if not _NUMBER.fullmatch(text):
            raise NumberFormatError(text)
        locale = babel_locale(language)
        amount = parse_decimal(_local_spelling(text, locale), locale=locale, strict=True)
    except (NumberFormatError, InvalidOperation):
        example = format_money(1990, currency, language=language, symbol=False)
        raise AppError(
            _("Enter the amount as a number, e.g. %(example)s.") % {"example": example},
            code="money_invalid",
        ) from None
    if not amount.is_finite():
        raise AppError(_("Enter a real amount."), code="money_invalid")
    # Bounded before scaling: a 30-digit amount would overflow Decimal's precision.
    if amount < 0:
        raise AppError(_("The amount cannot be negative."), code="money_negative")
    if amount > from_minor(MAX_MINOR, currency):
        raise AppError(_("That amount is too large."), code="money_too_large")
    return to_minor(amount, currency)


def format_money(
    minor: int, currency: str, *, language: str | None = None, symbol: bool = True
) -> str:
    """``minor`` as the viewer reads it, e.g. ``R$ 12,90``. Babel's ``format_currency``
    costs tens of microseconds a call, and lists repeat the same amounts (previews,
    prices); the result depends only on the arguments, so it is memoised."""
    return _format_money(minor, currency, babel_locale(language), symbol)


@lru_cache(maxsize=4096)
def _format_money(minor: int, currency: str, locale: str, symbol: bool) -> str:
    amount = from_minor(minor, currency)
    if symbol:
        locale = _MONEY_LOCALE.get(locale.split("_")[0], locale)
        return format_currency(amount, currency, locale=locale)
    return format_currency(amount, currency, locale=locale, format="#,##0.00", currency_digits=True)


def input_money(minor: int | None, currency: str, *, language: str | None = None) -> str:
    """An amount as the user would type it back into a form (no symbol, no grouping)."""
    if minor is None:
        return ""
    amount = from_minor(minor, currency)
    digits = minor_digits(currency)
    pattern = "0." + "0" * digits if digits else "0"
    return format_decimal(amount, format=pattern, locale=babel_locale(language))
