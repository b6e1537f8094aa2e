"""The wallet's endpoints: cards, the PIN's status and fingerprints (WebAuthn)."""

from django.http import Http404
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import input_data
from payments import selectors
from payments.api.common import DELETED, WALLET
from payments.gateway import CardDetails
from payments.models import WebAuthnCredential
from payments.serializers.cards import (
    CardInputSerializer,
    CardSerializer,
    FingerprintInputSerializer,
    FingerprintSerializer,
    PinStatusSerializer,
    WebAuthnOptionsSerializer,
)
from payments.services import cards, pins, webauthn


class CardListView(APIView):
    @extend_schema(
        tags=WALLET,
        summary="List my cards",
        description="Live cards, the default first. Never the number or the CVC.",
        responses=CardSerializer(many=True),
    )
    def get(self, request):
        return Response(CardSerializer(selectors.list_cards(user=request.user), many=True).data)

    @extend_schema(
        tags=WALLET,
        summary="Add a card",
        description=(
            "Visa or Mastercard, tokenized by the payment gateway (the sandbox takes "
            "Stripe's test numbers). Only the token, brand, last 4 digits, expiry and holder "
            "name are kept. The first card becomes the default."
        ),
        request=CardInputSerializer,
        responses={201: CardSerializer},
    )
    @sensitive_variables()
    def post(self, request):
        data = input_data(request, CardInputSerializer)
        details = CardDetails(
            number=data["number"],
            exp_month=data["exp_month"],
            exp_year=data["exp_year"],
            cvc=data["cvc"],
            holder_name=data["holder_name"].strip(),
        )
        card = cards.add_card(user=request.user, details=details, make_default=data["make_default"])
        return Response(CardSerializer(card).data, status=status.HTTP_201_CREATED)


class CardDetailView(APIView):
    @extend_schema(tags=WALLET, summary="Remove a card", responses=DELETED)
    def delete(self, request, card_id):
        card = selectors.get_card_for(user=request.user, card_id=card_id)
        cards.remove_card(user=request.user, card=card)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CardDefaultView(APIView):
    @extend_schema(
        tags=WALLET, summary="Make a card the default", request=None, responses=CardSerializer
    )
    def post(self, request, card_id):
        card = selectors.get_card_for(user=request.user, card_id=card_id)
        card = cards.set_default_card(user=request.user, card=card)
        return Response(CardSerializer(card).data)


class PinStatusView(APIView):
    @extend_schema(
        tags=WALLET,
        summary="My payment PIN's status",
        description="Set it, change it and reset it on the wallet pages (/wallet/pin/).",
        responses=PinStatusSerializer,
    )
    def get(self, request):
        row = pins.get_pin_status(request.user)
        locked_until = row.locked_until if row else None
        if locked_until is not None and locked_until <= timezone.now():
            locked_until = None
        body = {
            "has_pin": row is not None,
            "locked_until": locked_until,
            "needs_reset": bool(row and row.needs_reset),
        }
        return Response(PinStatusSerializer(body).data)


class FingerprintListView(APIView):
    @extend_schema(
        tags=WALLET, summary="List my fingerprints", responses=FingerprintSerializer(many=True)
    )
    def get(self, request):
        credentials = webauthn.list_credentials(user=request.user)
        return Response(FingerprintSerializer(credentials, many=True).data)

    @extend_schema(
        tags=WALLET,
        summary="Register a fingerprint",
        description=(
            "Send the browser's `credential.toJSON()` for the options from "
            "`POST /api/v1/wallet/fingerprints/options/` (single use, valid 2 minutes)."
        ),
        request=FingerprintInputSerializer,
        responses={201: FingerprintSerializer},
    )
    def post(self, request):
        data = input_data(request, FingerprintInputSerializer)
        credential = webauthn.register_credential(
            user=request.user, response=data["credential"], name=data["name"]
        )
        return Response(FingerprintSerializer(credential).data, status=status.HTTP_201_CREATED)


class FingerprintOptionsView(APIView):
    @extend_schema(
        tags=WALLET,
        summary="Options to register a fingerprint",
        description=(
            "For `navigator.credentials.create()`: a platform authenticator with user "
            "verification. Each call makes a new single-use challenge (2 minutes)."
        ),
        request=None,
        responses=WebAuthnOptionsSerializer,
    )
    def post(self, request):
        options = webauthn.registration_options(user=request.user)
        return Response(WebAuthnOptionsSerializer({"options": options}).data)


class FingerprintDetailView(APIView):
    @extend_schema(tags=WALLET, summary="Remove a fingerprint", responses=DELETED)
    def delete(self, request, credential_id):
        credential = WebAuthnCredential.objects.filter(pk=credential_id, user=request.user).first()
        if credential is None:
            raise Http404
        webauthn.remove_credential(user=request.user, credential=credential)
        return Response(status=status.HTTP_204_NO_CONTENT)
