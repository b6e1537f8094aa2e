"""What payments adds to lower apps' pages (``core.slots``, registered in
``PaymentsConfig.ready``): the dashboard's orders and balance entries."""

from django.utils.translation import gettext_lazy as _

from accounts.dashboard import register_nav


def register() -> None:
    register_nav(section="orders", label=_("Orders"), icon="receipt", order=40, url_name="orders")
    register_nav(
        section="balance",
        label=_("Balance"),
        icon="wallet",
        order=50,
        url_name="balance",
        min_role="admin",
    )
