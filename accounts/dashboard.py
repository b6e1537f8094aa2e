"""The business dashboard's navigation. Every app adds its own entries from its
``AppConfig.ready()`` (chats the inbox, payments the orders, ...), so accounts'
dashboard shell names no higher app's URL (docs/architecture.md, "Layers"). The
entries are providers of the ``dashboard.nav`` slot (``core.slots``)."""

from django.urls import reverse

from accounts.models import Membership
from core import slots

NAV = "dashboard.nav"
_sections: set[str] = set()


def register_nav(
    *,
    section: str,
    label,
    icon: str,
    order: int,
    url_name: str | None = None,
    min_role: str = Membership.Role.AGENT,
) -> None:
    """Show ``label`` (a lazy translation) in the dashboard's navigation, at ``order``,
    to members of at least ``min_role``. ``url_name`` is the app's own page, reversed
    with the business's slug; the page's view renders with ``section`` to mark the
    entry as the current one. Without ``url_name`` the entry is announced as coming
    soon."""
    if section in _sections:  # ready() may run twice (tests)
        return
    _sections.add(section)

    def entry(context, **kwargs) -> dict | None:
        membership = context.get("membership")
        if min_role != Membership.Role.AGENT and not (
            membership is not None and membership.has_role(min_role)
        ):
            return None
        url = reverse(url_name, args=[context["business"].slug]) if url_name else None
        return {
            "template": "accounts/_nav_entry.html",
            "entry": {"section": section, "label": label, "icon": icon, "url": url},
        }

    slots.register(NAV, entry, order=order)
