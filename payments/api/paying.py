"""Paying an order (PIN or fingerprint) and the payments' lists.

A customer pays; staff who see the order get 403. Pay needs an ``Idempotency-Key``
header (:mod:`payments.idempotency`).
"""

from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import get_business_for
from core.api import id_page, input_data, query_data
from core.errors import forbidden
from payments import selectors
from payments.api.common import IDEMPOTENCY_ERRORS, IDEMPOTENCY_KEY, PAYING, ROLE, card_from_body
from payments.idempotency import idempotent, payment_key
from payments.models import Payment
from payments.serializers.cards import WebAuthnOptionsSerializer
from payments.serializers.paying import (
    BusinessPaymentPageSerializer,
    PayInputSerializer,
    PaymentFilterSerializer,
    PaymentPageSerializer,
    PaymentSerializer,
)
from payments.services import paying, webauthn


def _customer_order(request, order_id):
    """The order if the user is its customer (404 if they may not see it, 403 if they
    see it as staff)."""
    order = selectors.get_order_for(user=request.user, order_id=order_id)
    if order.customer_id != request.user.pk:
        raise forbidden()
    return order


class OrderPayView(APIView):
    @extend_schema(
        tags=PAYING,
        summary="Pay an order (its customer)",
        description=(
            "With one of the user's cards, confirmed by the payment PIN or a fingerprint "
            "(`webauthn`: the assertion for the options from `…/pay/fingerprint/`). 201: "
            "paid. 202: the bank wants 3-D Secure — send the customer to `action_url`. A "
            "decline is a 400 with its reason (`code`, e.g. `insufficient_funds`); retry "
            "with another card and a new Idempotency-Key. One order is charged at most once."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=PayInputSerializer,
        responses={201: PaymentSerializer, 202: PaymentSerializer, **IDEMPOTENCY_ERRORS},
    )
    @idempotent
    @sensitive_variables("data")
    def post(self, request, order_id):
        order = _customer_order(request, order_id)
        data = input_data(request, PayInputSerializer)
        payment = paying.pay_order(
            payer=request.user,
            order=order,
            card=card_from_body(request, data["card_id"]),
            confirmation=data["confirmation"],
            idempotency_key=payment_key(user=request.user, key=request.idempotency_key),
            pin=data.get("pin"),
            webauthn_response=data.get("webauthn"),
        )
        pending = payment.status == Payment.Status.PENDING
        return Response(
            PaymentSerializer(payment).data,
            status=status.HTTP_202_ACCEPTED if pending else status.HTTP_201_CREATED,
        )


class OrderPayFingerprintView(APIView):
    @extend_schema(
        tags=PAYING,
        summary="Options to confirm a payment with a fingerprint",
        description=(
            "For `navigator.credentials.get()`: the challenge is bound to this order's "
            "amount, currency and payee, single use, valid 2 minutes. Ask again for every "
            "confirmation, including a retry after a decline."
        ),
        request=None,
        responses=WebAuthnOptionsSerializer,
    )
    def post(self, request, order_id):
        order = _customer_order(request, order_id)
        options = webauthn.payment_options(
            user=request.user,
            order=order,
            amount=order.total,
            currency=order.currency,
            payee=paying.payee_of(order),
        )
        return Response(WebAuthnOptionsSerializer({"options": options}).data)


class MyPaymentListView(APIView):
    @extend_schema(
        tags=PAYING,
        summary="List my payments",
        operation_id="v1_payments_list",
        description=(
            "Payments the user made, declined ones included; newest first, a page at a "
            "time (follow `next`)."
        ),
        parameters=[PaymentFilterSerializer],
        responses=PaymentPageSerializer,
    )
    def get(self, request):
        params = query_data(request, PaymentFilterSerializer)
        found = selectors.list_payments_made(user=request.user, status=params.get("status", ""))
        page = id_page(request, found, limit=params["limit"], before=params.get("before"))
        return Response(PaymentPageSerializer(page).data)


class PaymentDetailView(APIView):
    @extend_schema(
        tags=PAYING,
        summary="One of my payments",
        description="Its payer only (404 for anyone else's).",
        responses=PaymentSerializer,
    )
    def get(self, request, payment_id):
        payment = selectors.get_payment_for(user=request.user, payment_id=payment_id)
        return Response(PaymentSerializer(payment).data)


class PaymentResumeView(APIView):
    @extend_schema(
        tags=PAYING,
        summary="Finish a payment after 3-D Secure",
        description=(
            "After the customer answered the bank at `action_url`: reads the charge from "
            "the gateway and settles it. 200 with the payment, `succeeded` or still "
            "`pending` while the bank waits; a decline is a 400 with its reason (`code`), "
            "as when paying. Calling it again changes nothing; one order is charged at "
            "most once."
        ),
        request=None,
        responses=PaymentSerializer,
    )
    def post(self, request, payment_id):
        payment = selectors.get_payment_for(user=request.user, payment_id=payment_id)
        payment = paying.resume_payment(payer=request.user, payment=payment)
        return Response(PaymentSerializer(payment).data)


class BusinessPaymentListView(APIView):
    @extend_schema(
        tags=PAYING,
        summary="List the payments to the business (admin+)",
        description=(
            "Newest first, a page at a time (follow `next`), with the platform fee and "
            "the net credited."
        ),
        parameters=[PaymentFilterSerializer],
        responses=BusinessPaymentPageSerializer,
    )
    def get(self, request, slug):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        params = query_data(request, PaymentFilterSerializer)
        found = selectors.list_payments_received(business=business, status=params.get("status", ""))
        page = id_page(request, found, limit=params["limit"], before=params.get("before"))
        return Response(BusinessPaymentPageSerializer(page).data)
