"""What payments adds to lower apps' pages (``core.slots``, registered in
``PaymentsConfig.ready``): the product page's "Add to cart" and the dashboard's
orders and balance entries."""

from django.utils.translation import gettext_lazy as _

from accounts.dashboard import register_nav
from core import slots


def add_to_cart(context) -> dict | None:
    if not context["product"].in_stock:
        return None
    return {"template": "payments/_product_add_to_cart.html"}


def register() -> None:
    slots.register("product.actions", add_to_cart, order=20)
    register_nav(section="orders", label=_("Orders"), icon="receipt", order=40, url_name="orders")
    register_nav(
        section="balance",
        label=_("Balance"),
        icon="wallet",
        order=50,
        url_name="balance",
        min_role="admin",
    )
