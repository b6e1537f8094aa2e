"""The ``data`` of each event type: the REST API's shape of its object (the same
serializers where the API has one), ids as strings, under ``MAX_BYTES``.

docs/webhooks.md lists them with an example each.
"""

import json
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from chats.models import Contact, Conversation, Message
from chats.serializers import BusinessRefSerializer, UserRefSerializer
from insights.models import OrderAttribution
from marketing.models import SatisfactionRating
from marketing.serializers import RatingSerializer
from payments.models import Order, Payout, Refund
from payments.serializers.orders import OrderSerializer
from payments.serializers.payouts import PayoutSerializer
from payments.serializers.refunds import RefundSerializer

MAX_BYTES = 20 * 1024


def stringify_ids(value: Any) -> Any:
    """Every ``id`` and ``*_id`` integer as a string, at any depth (receivers in
    languages without 64-bit integers lose nothing)."""
    if isinstance(value, dict):
        return {
            k: (
                str(v)
                if (k == "id" or k.endswith("_id"))
                and isinstance(v, int)
                and not isinstance(v, bool)
                else stringify_ids(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [stringify_ids(v) for v in value]
    return value


def _conversation(conversation) -> dict:
    contact = conversation.contact
    return {
        "id": conversation.pk,
        "business": BusinessRefSerializer(conversation.business).data,
        "customer": UserRefSerializer(contact.user).data if contact else None,
        "contact_id": conversation.contact_id,
        "status": conversation.status,
        "first_touch": conversation.first_touch,
        "created_at": conversation.created_at,
    }


def _message(message) -> dict:
    sender = message.sender
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "kind": message.kind,
        "side": sender.side if sender is not None else "system",
        "from": "business" if sender is not None and sender.business_id else "customer",
        "author": UserRefSerializer(message.author).data if message.author_id else None,
        "body": message.body,
        "payload": message.payload,
        "created_at": message.created_at,
    }


def _contact(contact) -> dict:
    return {
        "id": contact.pk,
        "customer": UserRefSerializer(contact.user).data,
        "created_at": contact.created_at,
        "offers_consent_at": contact.offers_consent_at,
        "offers_opt_out_at": contact.offers_opt_out_at,
        "offers_opt_out_source": contact.offers_opt_out_source,
    }


def _order(order) -> dict:
    data = dict(OrderSerializer(order).data)
    attribution = _attribution(order)
    if attribution is not None:
        data["attribution"] = attribution
    return data


def _attribution(order) -> dict | None:
    # Written by insights' own order hook, which runs before ours (INSTALLED_APPS order).
    row = (
        OrderAttribution.objects.select_related("last_campaign", "first_campaign")
        .filter(order_id=order.pk)
        .first()
    )
    if row is None:
        return None
    campaign = row.last_campaign or row.first_campaign
    return {
        "campaign": {"id": campaign.pk, "name": campaign.name, "code": campaign.code}
        if campaign
        else None,
        "source": row.last_source or row.first_source,
        "medium": row.last_medium or row.first_medium,
        "click_id": row.last_click_id or row.first_click_id,
    }


def _shipped(order) -> dict:
    data = _order(order)
    shipment = order.shipments.order_by("-number").first()
    if shipment is not None:
        data["shipment"] = {
            "number": shipment.number,
            "carrier": shipment.carrier,
            "tracking_code": shipment.tracking_code,
            "tracking_url": shipment.tracking_url,
            "items": [
                {"order_item_id": i.order_item_id, "quantity": i.quantity}
                for i in shipment.items.all()
            ],
        }
    return data


def _payout(payout) -> dict:
    data = dict(PayoutSerializer(payout).data)
    data["business"] = BusinessRefSerializer(payout.business).data
    return data


def _rating(rating) -> dict:
    return dict(RatingSerializer(rating).data) | {"score": rating.score}


BUILDERS: dict[str, Callable[[Any], dict]] = {
    "conversation.created": _conversation,
    "conversation.status_changed": _conversation,
    "message.created": _message,
    "contact.created": _contact,
    "contact.opted_out": _contact,
    "order.created": _order,
    "order.paid": _order,
    "order.expired": _order,
    "order.canceled": _order,
    "order.shipped": _shipped,
    "order.delivered": _order,
    "refund.created": lambda refund: dict(RefundSerializer(refund).data),
    "payout.paid": _payout,
    "payout.failed": _payout,
    "rating.submitted": _rating,
}


def _loader(model, *related: str) -> Callable[[int], Any]:
    def load(pk: int) -> Any:
        rows = model.objects.select_related(*related) if related else model.objects
        return rows.filter(pk=pk).first()

    return load


_ORDER = _loader(Order, "customer", "business")
_CONVERSATION = _loader(Conversation, "business", "contact__user")
_CONTACT = _loader(Contact, "user")
_PAYOUT = _loader(Payout, "business")

# Each event type's subject, read again by id when the sender builds the payload.
SUBJECTS: dict[str, Callable[[int], Any]] = {
    "conversation.created": _CONVERSATION,
    "conversation.status_changed": _CONVERSATION,
    "message.created": _loader(Message, "sender", "author"),
    "contact.created": _CONTACT,
    "contact.opted_out": _CONTACT,
    "refund.created": _loader(Refund),
    "payout.paid": _PAYOUT,
    "payout.failed": _PAYOUT,
    "rating.submitted": _loader(SatisfactionRating, "order"),
} | {t: _ORDER for t in BUILDERS if t.startswith("order.")}


def event_payload(event) -> dict:
    """``{"type", "timestamp", "data"}`` of ``event``: its subject as it is now (a
    subject deleted since, e.g. an erased contact's: its id and ``"deleted": true``)."""
    subject = SUBJECTS[event.type](event.subject_id)
    if subject is None:
        data = {"id": str(event.subject_id), "deleted": True}
    else:
        data = build(event.type, subject)
    return {"type": event.type, "timestamp": event.created_at.isoformat(), "data": data}


def encode(payload: dict) -> bytes:
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def build(event_type: str, subject: Any) -> dict:
    """The JSON-ready ``data`` of an event about ``subject``: its API shape, or, if
    that would pass ``MAX_BYTES``, its id alone with ``"truncated": true`` (a receiver
    reads the rest through the API)."""
    data = stringify_ids(BUILDERS[event_type](subject))
    data = json.loads(encode(data))  # datetimes and the like as the API writes them
    if len(encode(data)) > MAX_BYTES:
        data = {"id": str(subject.pk), "truncated": True}
    return data
