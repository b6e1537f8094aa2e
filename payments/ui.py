"""What payments adds to lower apps' pages (``core.slots``, registered in
``PaymentsConfig.ready``): the product page's "Add to cart", the inbox's payment
request form, a direct chat's "Send money" / "Request money", and the dashboard's
orders and balance entries."""

from django.utils.translation import gettext_lazy as _

from accounts.dashboard import register_nav
from catalog.picks import render_picks
from core import slots


def add_to_cart(context) -> dict | None:
    if not context["product"].in_stock:
        return None
    return {"template": "payments/_product_add_to_cart.html"}


def request_payment(context) -> dict:
    """The payment request form beside a business conversation (its products, from
    the inbox's context, as line items)."""
    picks = render_picks(
        "payments/_product_picks.html",
        business=context["business"],
        products=context["products"],
    )
    return {"template": "payments/_inbox_request_payment.html", "product_picks": picks}


def p2p_actions(context) -> dict | None:
    if not context["conversation"].is_direct:
        return None
    return {"template": "payments/_thread_p2p.html"}


def register() -> None:
    slots.register("product.actions", add_to_cart, order=20)
    slots.register("inbox.panels", request_payment, order=10)
    slots.register("thread.actions", p2p_actions, order=10)
    register_nav(section="orders", label=_("Orders"), icon="receipt", order=40, url_name="orders")
    register_nav(
        section="balance",
        label=_("Balance"),
        icon="wallet",
        order=50,
        url_name="balance",
        min_role="admin",
    )
