from functools import lru_cache

from django import template
from django.utils.translation import get_language

from core.money import format_money, input_money

register = template.Library()


@lru_cache(maxsize=4096)
def _formatted(minor: int, currency: str, language: str | None) -> str:
    # Babel's format_currency costs tens of microseconds a call and a shop page
    # prints a price or two per product. The result depends on nothing but these
    # arguments, and a shop repeats the same prices, so memoising is exact.
    return format_money(minor, currency, language=language)


@register.simple_tag
def money(minor, currency):
    """An amount in minor units, formatted for the viewer's language."""
    if minor is None:
        return ""
    return _formatted(minor, currency, get_language())


@register.filter
def money_input(minor, currency):
    return input_money(minor, currency)
