"""Filters of the Support, Offers and Products report pages."""

from decimal import Decimal

from babel.numbers import format_decimal
from django import template
from django.utils.translation import gettext as _

from core.money import babel_locale

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """Seconds as people read them: "45 s", "4 min", "1 h 20 min", "2 d 3 h"; "—" for
    none. Rounded to the smaller unit shown."""
    if seconds is None or seconds == "":
        return "—"
    locale = babel_locale()

    def n(value: int) -> str:
        return format_decimal(value, locale=locale)

    total = max(int(Decimal(str(seconds)).to_integral_value()), 0)
    if total < 60:
        return _("%(n)s s") % {"n": n(total)}
    minutes = round(total / 60)
    if minutes < 60 * 24:
        hours, minutes = divmod(minutes, 60)
        if not hours:
            return _("%(n)s min") % {"n": n(minutes)}
        if not minutes:
            return _("%(n)s h") % {"n": n(hours)}
        return _("%(h)s h %(m)s min") % {"h": n(hours), "m": n(minutes)}
    days, hours = divmod(round(total / 3600), 24)
    if not hours:
        return _("%(n)s d") % {"n": n(days)}
    return _("%(d)s d %(h)s h") % {"d": n(days), "h": n(hours)}
