"""The business dashboard's navigation. Every app adds its own entries from its
``AppConfig.ready()`` (chats the inbox, payments the orders, ...), so accounts'
dashboard shell names no higher app's URL (docs/architecture.md, "Layers"). The
entries are providers of the ``dashboard.nav`` slot (``core.slots``).

Every dashboard page draws the same navigation for the same business, role, section
and language, so :func:`render_nav` keeps it in the process's ``fragments`` cache:
drawing its dozen entries (a template, an icon and a URL each) cost more than a
small page's own content. That holds because the entries come only from
:func:`register_nav`, whose output depends on nothing else; a provider that reads
more of the page must not join this slot."""

from django.core.cache import caches
from django.urls import get_script_prefix, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

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


def render_nav(context) -> str:
    """The navigation's entries (``<li>``s) for the page's business, the member's role
    and the current section, drawn once per process for each of these and language."""
    business, membership = context["business"], context.get("membership")
    role = membership.role if membership is not None else ""
    key = (
        ":".join(
            ("dashboard-nav", business.slug, role, str(context.get("section", "")), get_language())
        )
        + get_script_prefix()
    )
    fragments = caches["fragments"]
    html = fragments.get(key)
    if html is None:
        engine = context.template.engine
        parts = []
        for part in slots.fill(NAV, context):
            with context.push({k: v for k, v in part.items() if k != "template"}):
                parts.append(engine.get_template(part["template"]).render(context))
        html = "".join(parts)
        fragments.set(key, html)
    return mark_safe(html)  # noqa: S308 - our templates' own output
