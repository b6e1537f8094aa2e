"""The merchant's product pickers (share products in a chat, the lines of a payment
request), drawn once per process for each version of the shop's catalog."""

from django.utils.safestring import SafeString

from accounts.models import Business
from accounts.selectors import public_version
from catalog.selectors import Pick
from core.fragments import render_keyed


def render_picks(template_name: str, *, business: Business, products: list[Pick]) -> SafeString:
    """``template_name`` drawn with ``products`` (``selectors.list_picks(business=…)``),
    kept per language and public version of the shop (``public_version``: every
    catalog write changes it, and ``list_picks`` is keyed by it too), so the inbox's
    thread does not draw 48 products and more on every page. Its template reads
    nothing but ``products``."""
    key = ("picks", *public_version(business))
    [html] = render_keyed(template_name, [(key, {"products": products})])
    return html
