"""The chat message kinds marketing adds: ``followup`` (a check-in, with 1–5 rating
buttons when its rule asks for one) and ``offer`` (a broadcast's message, with
optional product cards and the one-click opt-out link). Registered from
``MarketingConfig.ready``; sent through the outbox."""

from django.urls import reverse
from django.utils.translation import gettext as _

from chats import kinds
from marketing.models import SatisfactionRating
from marketing.services import optout_token

SCORES = (1, 2, 3, 4, 5)


def _prefetch_ratings(messages) -> None:
    """Attach ``message.rating`` (the order's rating, or None): one query. A rating of an
    order from another conversation never shows."""
    wanted = {m.payload.get("order_id") for m in messages}
    ratings = {
        r.order_id: r
        for r in SatisfactionRating.objects.filter(
            order_id__in={pk for pk in wanted if type(pk) is int}
        ).select_related("order")
    }
    for message in messages:
        rating = ratings.get(message.payload.get("order_id"))
        if rating is not None and rating.order.conversation_id != message.conversation_id:
            rating = None
        message.rating = rating
        message.scores = SCORES


def _preview_followup(message) -> str:
    return "💬 " + message.body


def _prefetch_offers(messages) -> None:
    """The product cards (chats' product-set prefetch: one query for any number of
    offers) and each offer's opt-out link (signed, computed when rendered)."""
    with_products = [m for m in messages if m.payload.get("sections")]
    if with_products:
        kinds._prefetch_products(with_products)
    for message in messages:
        if not message.payload.get("sections"):
            message.sections = []
        contact_id = message.payload.get("contact_id")
        message.optout_url = (
            reverse("offers_optout", args=[optout_token(contact_id)])
            if type(contact_id) is int
            else ""
        )


def _preview_offer(message) -> str:
    return _("🏷 Offer: %(text)s") % {"text": message.body}


def _accepts_offers(conversation) -> bool:
    """An offer goes out only while its customer accepts offers (read under the
    conversation's lock, with its contact: a STOP or an opt-out that came first wins,
    even over an offer that failed once and is sent again)."""
    return conversation.contact is not None and conversation.contact.accepts_offers


def register() -> None:
    kinds.register(
        kinds.MessageKind(
            "followup", "marketing/messages/followup.html", _preview_followup, _prefetch_ratings
        )
    )
    kinds.register(
        kinds.MessageKind(
            "offer",
            "marketing/messages/offer.html",
            _preview_offer,
            _prefetch_offers,
            still_wanted=_accepts_offers,
        )
    )
