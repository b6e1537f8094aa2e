"""Payment requests (orders): create, list, read, cancel.

Order create needs an ``Idempotency-Key`` header (:mod:`payments.idempotency`).
"""

import datetime

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import get_business_for
from chats.selectors import get_conversation_for
from core.api import id_page, input_data, query_data
from core.errors import forbidden
from payments import selectors
from payments.api.common import IDEMPOTENCY_ERRORS, IDEMPOTENCY_KEY, ORDERS, ROLE
from payments.idempotency import idempotent
from payments.serializers.orders import (
    OrderFilterSerializer,
    OrderInputSerializer,
    OrderPageSerializer,
    OrderSerializer,
)
from payments.services import orders


def _order_detail(order, *, status_code=status.HTTP_200_OK) -> Response:
    return Response(OrderSerializer(order).data, status=status_code)


class OrderCreateView(APIView):
    @extend_schema(
        tags=ORDERS,
        summary="Send a payment request in a conversation (team)",
        description=(
            "Lines are catalog products (`product_id`, `quantity`; name and price are "
            "snapshotted) or free lines (`name`, `unit_price`, `quantity`). Amounts are "
            "integers in minor units of the business's currency. The request appears as a "
            "card in both sides' chat. Agents: in conversations they can see."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=OrderInputSerializer,
        responses={201: OrderSerializer, **IDEMPOTENCY_ERRORS},
    )
    @idempotent(takeover=False)  # no key of its own: a rerun would create twice
    def post(self, request, slug, conversation_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.AGENT)
        conversation = get_conversation_for(
            user=request.user, conversation_id=conversation_id, as_staff_of=business
        )
        data = input_data(request, OrderInputSerializer)
        lines = [
            {
                key: line[key]
                for key in ("product_id", "name", "unit_price", "quantity")
                if key in line
            }
            for line in data["lines"]
        ]
        order = orders.create_payment_request(
            actor=request.user,
            conversation=conversation,
            lines=lines,
            shipping=data["shipping"],
            discount=data["discount"],
            note=data["note"],
            expires_in=datetime.timedelta(hours=data["expires_in_hours"]),
        )
        order = selectors.get_order_for(user=request.user, order_id=order.pk)
        return _order_detail(order, status_code=status.HTTP_201_CREATED)


class BusinessOrderListView(APIView):
    @extend_schema(
        tags=ORDERS,
        summary="List the business's orders (agent+)",
        description=(
            "Newest first, a page at a time (follow `next`). Agents see the orders of "
            "conversations they can see."
        ),
        parameters=[OrderFilterSerializer],
        responses=OrderPageSerializer,
    )
    def get(self, request, slug):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.AGENT)
        params = query_data(request, OrderFilterSerializer)
        found = selectors.list_orders_for_business(
            business=business, status=params.get("status", ""), membership=business.membership
        )
        page = id_page(request, found, limit=params["limit"], before=params.get("before"))
        return Response(OrderPageSerializer(page).data)


class OrderDetailView(APIView):
    @extend_schema(
        tags=ORDERS,
        summary="An order",
        description="For its customer and the business's team who can see its conversation.",
        responses=OrderSerializer,
    )
    def get(self, request, order_id):
        return _order_detail(selectors.get_order_for(user=request.user, order_id=order_id))


class OrderCancelView(APIView):
    @extend_schema(
        tags=ORDERS,
        summary="Cancel an order (team)",
        description="Only while it awaits payment and no payment is under way (else 409).",
        request=None,
        responses=OrderSerializer,
    )
    def post(self, request, order_id):
        order = selectors.get_order_for(user=request.user, order_id=order_id)
        if order.membership is None:
            raise forbidden()
        orders.cancel_order(actor=request.user, order=order)
        return _order_detail(selectors.get_order_for(user=request.user, order_id=order.pk))
