"""Message kinds: how each kind of message is previewed and rendered.

Chats renders any kind by name without knowing who owns it. An app that adds a
kind (payments: payment requests, receipts, refunds, shipping notices…; marketing:
follow-ups and offers)
registers it from its ``AppConfig.ready`` with the template that renders it, a
one-line preview for the inbox list and e-mails, and optionally a ``prefetch``
that loads in bulk what its messages need (so a page of 500 messages costs a
fixed number of queries whatever their kinds), then sends messages of that kind
through :func:`chats.services.messages.post_message`.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.selectors import public_version
from catalog.models import Product, ProductPhoto


@dataclass(frozen=True)
class MessageKind:
    name: str
    template: str
    preview: Callable[["Message"], str]  # noqa: F821
    prefetch: Callable[[Sequence["Message"]], None] | None = None  # noqa: F821
    # Kinds a participant may send from the composer/API (the rest come from services).
    user_sendable: bool = False
    # Automated kinds: whether a scheduled message of this kind is still wanted in this
    # (locked) conversation; checked by the outbox just before sending, under the lock
    # (e.g. an offer after its customer opted out is canceled, not sent).
    still_wanted: Callable[["Conversation"], bool] | None = None  # noqa: F821
    # Whether the kind's template renders the same in every language (nothing in it is
    # translated or localised): a pushed message of such a kind is rendered once, not
    # once per site language (``chats.events.render_pushed``).
    same_in_every_language: bool = False
    # What the kind's rendering reads besides its message's own row, the language and
    # the time zone, as plain values, after ``prefetch`` (a product card: its shop's
    # catalog version): a message of a kind that says it is drawn once per process
    # and distinct value (``chats.events``), one that does not (None, or a None
    # result) every time.
    render_key: Callable[["Message"], tuple | None] | None = None  # noqa: F821
    extra: dict = field(default_factory=dict)


_KINDS: dict[str, MessageKind] = {}


def register(kind: MessageKind) -> None:
    _KINDS[kind.name] = kind


def get(name: str) -> MessageKind:
    return _KINDS.get(name) or _KINDS["unknown"]


def is_registered(name: str) -> bool:
    """Whether a kind of that name was registered (the fallback "unknown" is not one)."""
    return isinstance(name, str) and name != "unknown" and name in _KINDS


def prefetch(messages: Iterable) -> list:
    """Attach what each kind needs to render ``messages``; one pass per kind."""
    messages = list(messages)
    by_kind: dict[str, list] = {}
    for message in messages:
        by_kind.setdefault(message.kind, []).append(message)
    for name, group in by_kind.items():
        kind = get(name)
        if kind.prefetch is not None:
            kind.prefetch(group)
    return messages


# Built-in kinds -------------------------------------------------------------------


def _product_ids(message) -> list[int]:
    if message.kind == "product":
        return [message.payload.get("product_id")]
    ids = []
    for section in message.payload.get("sections", []):
        ids.extend(section.get("product_ids", []))
    return ids


def _prefetch_products(messages) -> None:
    """Attach each message's live products, and ``message.shop_version``: the public
    version of the shop they belong to (``accounts.selectors.public_version``: any
    change to its catalog or profile changes it), or None when none is left."""
    wanted = {pid for m in messages for pid in _product_ids(m) if isinstance(pid, int)}
    products = {
        p.pk: p
        for p in Product.objects.filter(pk__in=wanted)
        .select_related("business")
        .prefetch_related(
            Prefetch("photos", queryset=ProductPhoto.objects.order_by("position", "id"))
        )
    }
    versions = {p.business_id: public_version(p.business) for p in products.values()}
    for message in messages:
        business_id = message.payload.get("business_id")
        message.shop_version = versions.get(business_id)

        def visible(pid, business_id=business_id):
            product = products.get(pid)
            # A product deleted, hidden, or (never) from another business shows as
            # "no longer available" rather than vanishing from the history.
            if product and product.business_id == business_id and product.is_active:
                return product
            return None

        if message.kind == "product":
            message.product = visible(message.payload.get("product_id"))
        else:
            message.sections = [
                {
                    "title": section.get("title", ""),
                    "products": [p for p in map(visible, section.get("product_ids", [])) if p],
                }
                for section in message.payload.get("sections", [])
            ]


def _row_only(message) -> tuple:
    """The kinds drawn from their message's row alone."""
    return ()


def _shop_version(message) -> tuple:
    return (message.shop_version,)


def _preview_text(message) -> str:
    return message.body


def _preview_image(message) -> str:
    return message.body or _("📷 Photo")


def _preview_product(message) -> str:
    name = message.payload.get("name", "")
    return f"🛍 {name}" + (f" — {message.body}" if message.body else "")


def _preview_product_set(message) -> str:
    count = sum(len(s.get("product_ids", [])) for s in message.payload.get("sections", []))
    return ngettext("🛍 %(count)d product", "🛍 %(count)d products", count) % {"count": count}


def _preview_system(message) -> str:
    return message.body


def _preview_removed(message) -> str:
    return _("Message removed")


register(
    MessageKind(
        "text",
        "chats/messages/text.html",
        _preview_text,
        user_sendable=True,
        same_in_every_language=True,
        render_key=_row_only,
    )
)
register(
    MessageKind(
        "image",
        "chats/messages/image.html",
        _preview_image,
        user_sendable=True,
        render_key=_row_only,
    )
)
register(
    MessageKind(
        "product",
        "chats/messages/product.html",
        _preview_product,
        _prefetch_products,
        True,
        render_key=_shop_version,
    )
)
register(
    MessageKind(
        "product_set",
        "chats/messages/product_set.html",
        _preview_product_set,
        _prefetch_products,
        True,
        render_key=_shop_version,
    )
)
register(
    MessageKind(
        "system",
        "chats/messages/system.html",
        _preview_system,
        same_in_every_language=True,
        render_key=_row_only,
    )
)
# A message whose author had it erased (privacy: account deletion, contact erasure): its
# text and images are gone; readers see "Message removed" in their own language.
register(
    MessageKind("removed", "chats/messages/removed.html", _preview_removed, render_key=_row_only)
)
register(
    MessageKind(
        "unknown",
        "chats/messages/text.html",
        _preview_text,
        same_in_every_language=True,
        render_key=_row_only,
    )
)
