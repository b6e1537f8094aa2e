"""Shipping a paid order through the API, as the dashboard's order page does
(``payments.views.shipping``): the same service, so the same rules and the same
shipping cards in the customer's chat.

Who may: the business's staff who can see the order's conversation — any role, as on
the dashboard (agents: their conversations and unassigned ones). Anyone else, and an
order of another business under this slug, gets "not found". Marking shipped or
delivered needs an ``Idempotency-Key`` (:mod:`payments.idempotency`).
"""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import input_data
from payments import selectors
from payments.api.common import IDEMPOTENCY_ERRORS, IDEMPOTENCY_KEY, SHIPPING
from payments.idempotency import idempotent
from payments.serializers.orders import OrderSerializer
from payments.serializers.shipping import (
    OrderShippingSerializer,
    ShipmentCreatedSerializer,
    ShipmentInputSerializer,
)
from payments.services import shipping


def _business_order(request, slug, order_id):
    return selectors.get_business_order(user=request.user, slug=slug, order_id=order_id)[1]


def _shipments(order):
    return order.shipments.prefetch_related("items__order_item")


class OrderShipmentListView(APIView):
    @extend_schema(
        tags=SHIPPING,
        summary="An order's shipping: what is left to ship, and its shipments (team)",
        responses=OrderShippingSerializer,
    )
    def get(self, request, slug, order_id):
        order = _business_order(request, slug, order_id)
        left = shipping.remaining_quantities(order)
        items = [
            {
                "order_item_id": item.pk,
                "name": item.name,
                "quantity": item.quantity,
                "left": left.get(item.pk, 0),
            }
            for item in order.items.all()
        ]
        data = {
            "order_id": order.pk,
            "order_status": order.status,
            "items": items,
            "shipments": list(_shipments(order)),
        }
        return Response(OrderShippingSerializer(data).data)

    @extend_schema(
        tags=SHIPPING,
        summary="Mark (some items of) a paid order shipped (team)",
        description=(
            "Records a shipment: the carrier, the tracking code, an optional http(s) "
            "tracking link, and which items (`order_item_id` from the order's `items`, "
            "and how many; leave `items` out to ship everything that is left). The order "
            "becomes `partially_shipped`, or `shipped` once every item has left; the "
            "customer gets a shipping card in the chat, as when shipping from the "
            "dashboard. 400 on a bad field (`field` names it), an item not in the order "
            "(`invalid_items`) or more than is left (`too_many`); 409 `not_paid` or "
            "`already_shipped` when the order cannot ship."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=ShipmentInputSerializer,
        responses={201: ShipmentCreatedSerializer, **IDEMPOTENCY_ERRORS},
    )
    @idempotent(takeover=False)  # no key of its own: a rerun would ship twice
    def post(self, request, slug, order_id):
        order = _business_order(request, slug, order_id)
        data = input_data(request, ShipmentInputSerializer)
        items = data.get("items")
        shipment = shipping.mark_shipped(
            actor=request.user,
            order=order,
            carrier=data["carrier"],
            tracking_code=data["tracking_code"],
            tracking_url=data["tracking_url"],
            items=None if items is None else {i["order_item_id"]: i["quantity"] for i in items},
        )
        shipment = _shipments(order).get(pk=shipment.pk)
        return Response(ShipmentCreatedSerializer(shipment).data, status=status.HTTP_201_CREATED)


class OrderDeliverView(APIView):
    @extend_schema(
        tags=SHIPPING,
        summary="Mark a shipped order delivered (team)",
        description=(
            "Once every item has been shipped: the order becomes `completed` and the "
            "customer gets a delivery card in the chat. 409 `not_shipped` before that, "
            "`already_delivered` after."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=None,
        responses={200: OrderSerializer, **IDEMPOTENCY_ERRORS},
    )
    @idempotent(takeover=False)
    def post(self, request, slug, order_id):
        order = _business_order(request, slug, order_id)
        shipping.mark_delivered(actor=request.user, order=order)
        order = selectors.get_order_for(user=request.user, order_id=order.pk)
        return Response(OrderSerializer(order).data)
