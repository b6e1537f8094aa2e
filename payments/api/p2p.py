"""Person to person: send money to a friend in a direct conversation, request money,
and pay or decline a request.
"""

from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from chats.selectors import get_conversation_for
from core.api import input_data
from core.errors import forbidden
from payments.api.common import IDEMPOTENCY_ERRORS, IDEMPOTENCY_KEY, P2P, card_from_body
from payments.idempotency import idempotent, payment_key
from payments.serializers.cards import WebAuthnOptionsSerializer
from payments.serializers.p2p import (
    MoneyInputSerializer,
    MoneyRequestSerializer,
    P2POptionsInputSerializer,
    P2PPaymentSerializer,
    SendMoneyInputSerializer,
)
from payments.serializers.paying import PayInputSerializer
from payments.services import p2p


def _direct_conversation(request, conversation_id):
    return get_conversation_for(user=request.user, conversation_id=conversation_id)


class SendMoneyView(APIView):
    @extend_schema(
        tags=P2P,
        summary="Send money to the other person of a direct conversation",
        description=(
            "Free, from one of the user's **debit** cards (a credit card is 400 "
            "`card_not_debit`), confirmed by the PIN or a fingerprint (options from "
            "`…/send-money/fingerprint/`). Limits (409 with the limit and when it resets): "
            "per payment, payments received per day by the friend, total sent per month."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=SendMoneyInputSerializer,
        responses={201: P2PPaymentSerializer, **IDEMPOTENCY_ERRORS},
    )
    @idempotent
    @sensitive_variables("data")
    def post(self, request, conversation_id):
        conversation = _direct_conversation(request, conversation_id)
        data = input_data(request, SendMoneyInputSerializer)
        payment = p2p.send_money(
            payer=request.user,
            conversation=conversation,
            amount=data["amount"],
            currency=data["currency"],
            card=card_from_body(request, data["card_id"]),
            confirmation=data["confirmation"],
            idempotency_key=payment_key(user=request.user, key=request.idempotency_key),
            note=data.get("note", ""),
            pin=data.get("pin"),
            webauthn_response=data.get("webauthn"),
        )
        return Response(P2PPaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


class SendMoneyFingerprintView(APIView):
    @extend_schema(
        tags=P2P,
        summary="Options to confirm sending money with a fingerprint",
        description="The challenge is bound to the amount, currency and the friend.",
        request=P2POptionsInputSerializer,
        responses=WebAuthnOptionsSerializer,
    )
    def post(self, request, conversation_id):
        conversation = _direct_conversation(request, conversation_id)
        data = input_data(request, P2POptionsInputSerializer)
        options = p2p.payment_options(
            payer=request.user,
            conversation=conversation,
            amount=data["amount"],
            currency=data["currency"],
        )
        return Response(WebAuthnOptionsSerializer({"options": options}).data)


class MoneyRequestCreateView(APIView):
    @extend_schema(
        tags=P2P,
        summary="Ask the other person of a direct conversation for money",
        description="Posts a request card they can pay in one step.",
        parameters=[IDEMPOTENCY_KEY],
        request=MoneyInputSerializer,
        responses={201: MoneyRequestSerializer, **IDEMPOTENCY_ERRORS},
    )
    @idempotent(takeover=False)  # no key of its own: a rerun would create twice
    def post(self, request, conversation_id):
        conversation = _direct_conversation(request, conversation_id)
        data = input_data(request, MoneyInputSerializer)
        money_request = p2p.request_money(
            requester=request.user,
            conversation=conversation,
            amount=data["amount"],
            currency=data["currency"],
            note=data.get("note", ""),
        )
        return Response(MoneyRequestSerializer(money_request).data, status=status.HTTP_201_CREATED)


class MoneyRequestDetailView(APIView):
    @extend_schema(
        tags=P2P,
        summary="A money request (its requester or payer)",
        responses=MoneyRequestSerializer,
    )
    def get(self, request, request_id):
        money_request = p2p.get_money_request_for(user=request.user, request_id=request_id)
        return Response(MoneyRequestSerializer(money_request).data)


class MoneyRequestPayView(APIView):
    @extend_schema(
        tags=P2P,
        summary="Pay a money request (its payer)",
        description="Like sending money, for the requested amount, to the requester.",
        parameters=[IDEMPOTENCY_KEY],
        request=PayInputSerializer,
        responses={201: P2PPaymentSerializer, **IDEMPOTENCY_ERRORS},
    )
    @idempotent
    @sensitive_variables("data")
    def post(self, request, request_id):
        money_request = p2p.get_money_request_for(user=request.user, request_id=request_id)
        data = input_data(request, PayInputSerializer)
        payment = p2p.pay_money_request(
            payer=request.user,
            money_request=money_request,
            card=card_from_body(request, data["card_id"]),
            confirmation=data["confirmation"],
            idempotency_key=payment_key(user=request.user, key=request.idempotency_key),
            pin=data.get("pin"),
            webauthn_response=data.get("webauthn"),
        )
        return Response(P2PPaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


class MoneyRequestFingerprintView(APIView):
    @extend_schema(
        tags=P2P,
        summary="Options to confirm paying a money request with a fingerprint",
        request=None,
        responses=WebAuthnOptionsSerializer,
    )
    def post(self, request, request_id):
        money_request = p2p.get_money_request_for(user=request.user, request_id=request_id)
        if money_request.payer_id != request.user.pk:
            raise forbidden()
        options = p2p.payment_options(
            payer=request.user,
            conversation=money_request.conversation,
            amount=money_request.amount,
            currency=money_request.currency,
        )
        return Response(WebAuthnOptionsSerializer({"options": options}).data)
