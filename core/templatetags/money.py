from django import template

from core.money import format_money, input_money

register = template.Library()


@register.simple_tag
def money(minor, currency):
    """An amount in minor units, formatted for the viewer's language."""
    if minor is None:
        return ""
    return format_money(minor, currency)


@register.filter
def money_input(minor, currency):
    return input_money(minor, currency)
