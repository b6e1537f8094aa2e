"""Card numbers in text people type, where they must never be stored.

Two strengths, one digit scanner:

- :func:`contains_card_number` — for fields where a long run of digits has no
  business (a card's holder name, an order note, an item name): any 13–19
  consecutive digits that pass the Luhn check, also *inside* a longer run (a number
  with its CVC typed after it). Such text is refused.
- :func:`mask_card_numbers` — for conversation text, where people also write phone
  numbers, CPFs and boleto lines: only a whole run of digits that looks like a card
  (13–19 digits, Luhn-valid, a card network's first digit and length) is replaced by
  ``•••• 1234`` before the message is stored. A boleto's 47 digits or a
  ``+55 11 91234-5678`` phone stay as typed.

A run is digits with at most one space, dash or dot between them
(``4242 4242-4242.4242``).
"""

import re

from django.utils.translation import gettext as _

from core.errors import AppError

_DIGIT_RUN = re.compile(r"\d(?:[ .\-]?\d)+")


def luhn_ok(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits(run: str) -> str:
    return re.sub(r"\D", "", run)


def contains_card_number(text: str) -> bool:
    """True if ``text`` holds 13–19 consecutive digits (single separators allowed)
    that pass the Luhn check — anywhere inside a longer run too."""
    for match in _DIGIT_RUN.finditer(text or ""):
        digits = _digits(match.group())
        for size in range(13, min(19, len(digits)) + 1):
            for start in range(len(digits) - size + 1):
                if luhn_ok(digits[start : start + size]):
                    return True
    return False


def looks_like_card(digits: str) -> bool:
    """A whole number a card network issues: Visa (4, 13/16/19 digits), Amex (34/37,
    15), Diners (30/36/38, 14), and the 16–19 digit ranges of Mastercard, Elo,
    Hipercard, Discover and JCB (first digit 2–6); Luhn-valid."""
    size = len(digits)
    if not 13 <= size <= 19 or not luhn_ok(digits):
        return False
    first = digits[0]
    if size == 13:
        return first == "4"
    if size in (14, 15):
        return first == "3"
    return first in "23456"


def mask_card_numbers(text: str) -> str:
    """``text`` with every card-looking run of digits replaced by ``•••• <last 4>``."""

    def mask(match: re.Match) -> str:
        digits = _digits(match.group())
        return f"•••• {digits[-4:]}" if looks_like_card(digits) else match.group()

    return _DIGIT_RUN.sub(mask, text or "")


def refuse_card_number(text: str, *, field: str) -> None:
    """Raise ``AppError`` (code ``card_number_in_text``, naming ``field``) when ``text``
    holds a card number (:func:`contains_card_number`); the services call it on every
    free-text field of a payment, so no interface can store one."""
    if contains_card_number(text):
        raise AppError(
            _("This looks like a card number. Never write a card number here."),
            code="card_number_in_text",
            field=field,
        )
