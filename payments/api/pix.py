"""Pix of an order (its customer): collected Pix — start a charge, read its code and
status (start needs an ``Idempotency-Key`` header, as paying by card does) — and direct
Pix — the static code to the business's own key."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.api.common import IDEMPOTENCY_ERRORS, IDEMPOTENCY_KEY, PAYING
from payments.api.paying import _customer_order
from payments.idempotency import idempotent
from payments.pix.direct import direct_pix, pix_key_of
from payments.serializers.pix import DirectPixSerializer, PixChargeSerializer
from payments.services import pix


class OrderPixView(APIView):
    @extend_schema(
        tags=PAYING,
        summary="The order's Pix charge (its customer)",
        description=(
            "The latest Pix charge of the order: its BR Code while active, and its status "
            "(`paid` once the provider confirmed the Pix; the order is then `processing` "
            "with its receipt in the chat). 404 when no Pix was started."
        ),
        responses=PixChargeSerializer,
    )
    def get(self, request, order_id):
        order = _customer_order(request, order_id)
        charge = order.pix_charges.select_related("business", "order").first()
        if charge is None:
            raise Http404
        return Response(PixChargeSerializer(charge).data)

    @extend_schema(
        tags=PAYING,
        summary="Pay an order by Pix (its customer)",
        description=(
            "Creates (or returns, while still valid) the order's Pix charge at the provider: "
            "show `copy_paste` as a QR code or let the customer copy it into their bank's "
            "app. No PIN: the bank authenticates the payer. The order turns paid when the "
            "provider reports the Pix (poll GET or listen to the chat). 400 "
            "`not_payable`/`expired`/`already_paying`; 503 `pix_unavailable`."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=None,
        responses={201: PixChargeSerializer, **IDEMPOTENCY_ERRORS},
    )
    @idempotent
    def post(self, request, order_id):
        order = _customer_order(request, order_id)
        charge = pix.start_pix(payer=request.user, order=order)
        charge.order = order
        return Response(PixChargeSerializer(charge).data, status=status.HTTP_201_CREATED)


class OrderDirectPixView(APIView):
    @extend_schema(
        tags=PAYING,
        summary="The order's direct Pix code (its customer)",
        description=(
            "For a pending order of a business paid by direct Pix (`pix_mode` `direct`): the "
            "static BR Code to the business's own Pix key, with the amount and a txid. The "
            "money goes straight to the business, which then marks the order paid "
            "(`…/pix-received/`); read the order to see it. 404 when the order is not "
            "payable this way (paid, expired, or the business takes collected Pix)."
        ),
        responses=DirectPixSerializer,
    )
    def get(self, request, order_id):
        order = _customer_order(request, order_id)
        business = order.business
        found = direct_pix(order, business=business, key=pix_key_of(business))
        if found is None:
            raise Http404
        return Response(DirectPixSerializer(found).data)
