"""What marketing adds to lower apps' pages (``core.slots``, registered in
``MarketingConfig.ready``): the dashboard's follow-ups and broadcasts entries."""

from django.utils.translation import gettext_lazy as _

from accounts.dashboard import register_nav


def register() -> None:
    register_nav(
        section="followups",
        label=_("Follow-ups"),
        icon="message-circle",
        order=60,
        url_name="followups",
        min_role="admin",
    )
    register_nav(
        section="broadcasts",
        label=_("Broadcasts"),
        icon="megaphone",
        order=70,
        url_name="broadcasts",
        min_role="admin",
    )
