"""What privacy adds to lower apps' pages (``core.slots``): the inbox customer
panel's "Export this contact's data" / "Erase this contact" (owners and admins), and
the dashboard's Privacy entry (the audit list)."""

from django.utils.translation import gettext_lazy as _

from accounts.dashboard import register_nav
from core import slots

ROLES = ("owner", "admin")


def contact_privacy(context) -> dict | None:
    membership = context.get("membership")
    if membership is None or membership.role not in ROLES or context.get("contact") is None:
        return None
    return {"template": "privacy/_inbox_contact.html"}


def register() -> None:
    slots.register("inbox.panels", contact_privacy, order=90)
    register_nav(
        section="privacy",
        label=_("Privacy"),
        icon="key",
        order=96,
        url_name="privacy_business_audit",
        min_role="admin",
    )
