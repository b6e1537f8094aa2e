"""Direct Pix: the business records that an order's Pix reached its own bank account
("Pix received"). Staff who can see the order (404 for anyone else, 403 for its
customer); needs an ``Idempotency-Key`` like the other money endpoints."""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from payments import selectors
from payments.api.common import IDEMPOTENCY_ERRORS, IDEMPOTENCY_KEY, ORDERS
from payments.idempotency import idempotent
from payments.serializers.orders import OrderSerializer
from payments.services import direct_pix


class OrderPixReceivedView(APIView):
    @extend_schema(
        tags=ORDERS,
        summary="Record that a direct Pix of the order was received (team)",
        description=(
            "For a business in direct Pix mode (customers pay its own Pix key with the "
            "static code on the payment request): the order becomes paid (`processing`), "
            "with `paid_outside` = `pix_direct`, no fee and nothing in the balance; the "
            "chat gets a receipt. 409 `already_paid`, `not_payable` (not awaiting "
            "payment), `already_paying` (a card payment is under way or done), "
            "`direct_pix_off` (collected mode, or no Pix key). Its customer: 403."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=None,
        responses={
            200: OrderSerializer,
            403: OpenApiResponse(description="The order's customer."),
            **IDEMPOTENCY_ERRORS,
        },
    )
    @idempotent
    def post(self, request, slug, order_id):
        order = selectors.get_order_for(user=request.user, order_id=order_id)
        if order.business.slug != slug:
            raise Http404
        # The service answers its customer "forbidden" and anyone else "not found".
        direct_pix.mark_pix_received(actor=request.user, order=order)
        order = selectors.get_order_for(user=request.user, order_id=order.pk)
        return Response(OrderSerializer(order).data)
