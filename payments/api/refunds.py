"""Refunds of an order's payment: owners and admins of its business (404 for anyone
who cannot see the order, 403 for its customer and for agents).
"""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import input_data
from core.errors import forbidden
from payments import selectors
from payments.api.common import IDEMPOTENCY_ERRORS, IDEMPOTENCY_KEY, REFUNDS, ROLE
from payments.idempotency import idempotent, payment_key
from payments.models import Refund
from payments.serializers.refunds import RefundInputSerializer, RefundSerializer
from payments.services import refunds


def _refund_order(request, order_id):
    """The order if the user is an owner or admin of its business: 404 for anyone who
    cannot see it, 403 for its customer and for agents."""
    order = selectors.get_order_for(user=request.user, order_id=order_id)
    if order.membership is None or order.membership.role not in (ROLE.OWNER, ROLE.ADMIN):
        raise forbidden()
    return order


def refund_key(*, user, order, key: str) -> str:
    """The refund's own idempotency key, derived from the header (like payments')."""
    return payment_key(user=user, key=f"refund:{order.pk}:{key}")


class OrderRefundListView(APIView):
    @extend_schema(
        tags=REFUNDS,
        summary="List an order's refunds (its customer, or the business's owners and admins)",
        responses=RefundSerializer(many=True),
    )
    def get(self, request, order_id):
        order = selectors.get_order_for(user=request.user, order_id=order_id)
        if order.customer_id != request.user.pk:
            order = _refund_order(request, order_id)
        return Response(RefundSerializer(refunds.list_refunds(order=order), many=True).data)

    @extend_schema(
        tags=REFUNDS,
        summary="Refund part or all of a paid order (owners and admins)",
        description=(
            "Gives `amount` back to the card that paid. Our fee is returned in proportion "
            "(the refund completing the payment takes the remainder); the gateway's fee is "
            "not. 201: refunded. 202: the gateway has not answered yet (it is retried with "
            "the same key). 400 `refund_too_large` above what is left; 409 "
            "`insufficient_balance` when the business's balance cannot cover it."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=RefundInputSerializer,
        responses={201: RefundSerializer, 202: RefundSerializer, **IDEMPOTENCY_ERRORS},
    )
    @idempotent
    def post(self, request, order_id):
        order = _refund_order(request, order_id)
        data = input_data(request, RefundInputSerializer)
        refund = refunds.refund_order(
            actor=request.user,
            order=order,
            amount=data["amount"],
            reason=data["reason"],
            idempotency_key=refund_key(user=request.user, order=order, key=request.idempotency_key),
        )
        pending = refund.status == Refund.Status.PENDING
        return Response(
            RefundSerializer(refund).data,
            status=status.HTTP_202_ACCEPTED if pending else status.HTTP_201_CREATED,
        )
