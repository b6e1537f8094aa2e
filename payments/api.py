"""REST endpoints for the wallet (cards, PIN status, fingerprints), payment requests
(orders) and paying. Thin: parse, authorize through the selectors, call one service,
serialize.

Scoped like the pages: a business is loaded with
:func:`accounts.selectors.get_business_for` at the role the operation needs, an order
with :func:`payments.selectors.get_order_for` and a card with
:func:`payments.selectors.get_card_for` — 404 alike for missing and forbidden. A
customer who sees an order but tries a staff operation (cancel) gets 403, and so
does staff trying the customer's (pay).

Order create and pay need an ``Idempotency-Key`` header (:mod:`payments.idempotency`).
"""

import datetime

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Membership
from accounts.selectors import get_business_for
from chats.selectors import get_conversation_for
from core.api import id_page, input_data, query_data
from core.errors import AppError
from payments import selectors
from payments.gateway import CardDetails
from payments.idempotency import idempotent, payment_key
from payments.models import Payment, Refund, WebAuthnCredential
from payments.serializers import (
    BalanceSerializer,
    BusinessPaymentPageSerializer,
    CardInputSerializer,
    CardSerializer,
    DestinationInputSerializer,
    DestinationSerializer,
    FingerprintInputSerializer,
    FingerprintSerializer,
    MoneyInputSerializer,
    MoneyRequestSerializer,
    OrderFilterSerializer,
    OrderInputSerializer,
    OrderPageSerializer,
    OrderSerializer,
    P2POptionsInputSerializer,
    P2PPaymentSerializer,
    PayInputSerializer,
    PaymentFilterSerializer,
    PaymentPageSerializer,
    PaymentSerializer,
    PayoutFilterSerializer,
    PayoutNowInputSerializer,
    PayoutScheduleSerializer,
    PayoutSerializer,
    PinStatusSerializer,
    RefundInputSerializer,
    RefundSerializer,
    SendMoneyInputSerializer,
    StatementQuerySerializer,
    WalletBalanceSerializer,
    WebAuthnOptionsSerializer,
    WithdrawalInputSerializer,
)
from payments.services import cards, orders, p2p, paying, pins, refunds, webauthn
from payments.services import destinations as destination_services
from payments.services import payouts as payout_services
from payments.statements import parse_period, write_statement

ROLE = Membership.Role
WALLET = ["payments (wallet)"]
ORDERS = ["payments (orders)"]
PAYING = ["payments (paying)"]
REFUNDS = ["payments (refunds)"]
P2P = ["payments (person to person)"]
DELETED = {204: OpenApiResponse(description=gettext_lazy("Deleted."))}
IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "A new unique value (e.g. a UUID) per operation. A retry with the same key and "
        "body gets the first response back; the same key with another body is 422; "
        "while the first request is still running, 409. Kept at least 24 hours."
    ),
)
IDEMPOTENCY_ERRORS = {
    409: OpenApiResponse(description="The first request with this key is still running."),
    422: OpenApiResponse(description="This key was used for a different request."),
}


def _customer_order(request, order_id):
    """The order if the user is its customer (404 if they may not see it, 403 if they
    see it as staff)."""
    order = selectors.get_order_for(user=request.user, order_id=order_id)
    if order.customer_id != request.user.pk:
        raise PermissionDenied
    return order


def _order_detail(order, *, status_code=status.HTTP_200_OK) -> Response:
    return Response(OrderSerializer(order).data, status=status_code)


# --- Cards -----------------------------------------------------------------------------------


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


# --- PIN and fingerprints ----------------------------------------------------------------------


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


# --- Orders --------------------------------------------------------------------------------------


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
        conversation = get_conversation_for(user=request.user, conversation_id=conversation_id)
        if conversation.business_id != business.pk or conversation.membership is None:
            raise Http404
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
            raise PermissionDenied
        orders.cancel_order(actor=request.user, order=order)
        return _order_detail(selectors.get_order_for(user=request.user, order_id=order.pk))


# --- Paying ---------------------------------------------------------------------------------


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
        try:
            card = selectors.get_card_for(user=request.user, card_id=data["card_id"])
        except Http404:
            raise AppError(
                _("Choose one of your cards."), code="card_invalid", field="card_id"
            ) from None
        payment = paying.pay_order(
            payer=request.user,
            order=order,
            card=card,
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


# --- Payouts ---------------------------------------------------------------------------------
# Business destinations: admins and owners read them (masked); only owners change them
# (an admin gets 403, anyone else 404). Balance, payouts and the statement: admin+.
# A user's own destinations, wallet balance, withdrawals and statement: that user.

PAYOUTS = ["payments (payouts)"]
CSV_RESPONSE = {
    (200, "text/csv"): OpenApiResponse(
        response=OpenApiTypes.STR,
        description="CSV: date, posting, kind, description, order, payout, amount, balance, "
        "currency (amounts in major units as decimal strings; an opening-balance line first).",
    )
}


def _payout_business(request, slug):
    return get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)


def _destination_data(data: dict) -> tuple[str, dict, bool]:
    data = dict(data)
    return data.pop("kind"), data, data.pop("make_default", False)


class _DestinationList(APIView):
    business_scoped = True

    def _business(self, request, slug):
        return _payout_business(request, slug) if self.business_scoped else None

    def get(self, request, slug=None):
        business = self._business(request, slug)
        found = selectors.list_destinations(business=business, user=request.user)
        return Response(DestinationSerializer(found, many=True).data)

    def post(self, request, slug=None):
        business = self._business(request, slug)
        kind, data, make_default = _destination_data(
            input_data(request, DestinationInputSerializer)
        )
        destination = destination_services.add_destination(
            actor=request.user, business=business, kind=kind, data=data, make_default=make_default
        )
        return Response(DestinationSerializer(destination).data, status=status.HTTP_201_CREATED)


class _DestinationBase(APIView):
    business_scoped = True

    def _load(self, request, slug, destination_id):
        business = _payout_business(request, slug) if self.business_scoped else None
        destination = selectors.get_destination_for(
            destination_id=destination_id, business=business, user=request.user
        )
        return business, destination


class _DestinationDetail(_DestinationBase):
    def put(self, request, destination_id, slug=None):
        business, destination = self._load(request, slug, destination_id)
        kind, data, _make_default = _destination_data(
            input_data(request, DestinationInputSerializer)
        )
        if kind != destination.kind:
            raise AppError(
                _("A destination keeps its kind: add a new one instead."),
                code="kind_invalid",
                field="kind",
            )
        destination = destination_services.change_destination(
            actor=request.user, business=business, destination=destination, data=data
        )
        return Response(DestinationSerializer(destination).data)

    def delete(self, request, destination_id, slug=None):
        business, destination = self._load(request, slug, destination_id)
        destination_services.remove_destination(
            actor=request.user, business=business, destination=destination
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class _DestinationDefault(_DestinationBase):
    def post(self, request, destination_id, slug=None):
        business, destination = self._load(request, slug, destination_id)
        destination = destination_services.set_default_destination(
            actor=request.user, business=business, destination=destination
        )
        return Response(DestinationSerializer(destination).data)


_BUSINESS_DEST = "Admins and owners read (masked); only owners change (admins: 403)."
_MY_DEST = "The user's own, for withdrawing the wallet."


class BusinessDestinationListView(_DestinationList):
    @extend_schema(
        tags=PAYOUTS,
        summary="List the business's payout destinations (admin+)",
        description=_BUSINESS_DEST,
        responses=DestinationSerializer(many=True),
    )
    def get(self, request, slug):
        return super().get(request, slug)

    @extend_schema(
        tags=PAYOUTS,
        summary="Add a bank account or Pix key to the business (owners)",
        description="Validated (bank list, branch, account, CPF/CNPJ check digits, Pix key "
        "per type). The first becomes the default. All owners are e-mailed.",
        request=DestinationInputSerializer,
        responses={201: DestinationSerializer},
    )
    def post(self, request, slug):
        return super().post(request, slug)


class BusinessDestinationDetailView(_DestinationDetail):
    @extend_schema(
        tags=PAYOUTS,
        summary="Change a business payout destination (owners)",
        description="All its details again; the kind stays.",
        request=DestinationInputSerializer,
        responses=DestinationSerializer,
    )
    def put(self, request, slug, destination_id):
        return super().put(request, destination_id, slug)

    @extend_schema(
        tags=PAYOUTS, summary="Remove a business payout destination (owners)", responses=DELETED
    )
    def delete(self, request, slug, destination_id):
        return super().delete(request, destination_id, slug)


class BusinessDestinationDefaultView(_DestinationDefault):
    @extend_schema(
        tags=PAYOUTS,
        summary="Send the business's payouts here (owners)",
        request=None,
        responses=DestinationSerializer,
    )
    def post(self, request, slug, destination_id):
        return super().post(request, destination_id, slug)


class MyDestinationListView(_DestinationList):
    business_scoped = False

    @extend_schema(
        tags=PAYOUTS,
        summary="List my payout destinations",
        description=_MY_DEST,
        responses=DestinationSerializer(many=True),
    )
    def get(self, request):
        return super().get(request)

    @extend_schema(
        tags=PAYOUTS,
        summary="Add a bank account or Pix key of mine",
        request=DestinationInputSerializer,
        responses={201: DestinationSerializer},
    )
    def post(self, request):
        return super().post(request)


class MyDestinationDetailView(_DestinationDetail):
    business_scoped = False

    @extend_schema(
        tags=PAYOUTS,
        summary="Change one of my payout destinations",
        request=DestinationInputSerializer,
        responses=DestinationSerializer,
    )
    def put(self, request, destination_id):
        return super().put(request, destination_id)

    @extend_schema(tags=PAYOUTS, summary="Remove one of my payout destinations", responses=DELETED)
    def delete(self, request, destination_id):
        return super().delete(request, destination_id)


class MyDestinationDefaultView(_DestinationDefault):
    business_scoped = False

    @extend_schema(
        tags=PAYOUTS,
        summary="Withdraw to this destination by default",
        request=None,
        responses=DestinationSerializer,
    )
    def post(self, request, destination_id):
        return super().post(request, destination_id)


class BusinessBalanceView(APIView):
    @extend_schema(
        tags=PAYOUTS,
        summary="The business's balance (admin+)",
        description="Available now, pending with the day each part becomes available "
        "(D+1 debit, D+2 credit), and whether payouts are paused.",
        responses=BalanceSerializer,
    )
    def get(self, request, slug):
        business = _payout_business(request, slug)
        summary = selectors.balance_summary(business=business, currency=business.currency)
        body = summary | {
            "pending": [{"date": day, "amount": amount} for day, amount in summary["pending"]],
            "payouts_paused": payout_services.pause_reason(business),
        }
        return Response(BalanceSerializer(body).data)


class BusinessPayoutListView(APIView):
    @extend_schema(
        tags=PAYOUTS,
        summary="List the business's payouts (admin+)",
        parameters=[PayoutFilterSerializer],
        responses=PayoutSerializer(many=True),
    )
    def get(self, request, slug):
        business = _payout_business(request, slug)
        params = query_data(request, PayoutFilterSerializer)
        found = selectors.list_payouts(business=business, limit=params["limit"])
        return Response(PayoutSerializer(found, many=True).data)


class BusinessPayoutNowView(APIView):
    @extend_schema(
        tags=PAYOUTS,
        summary="Pay out the business's available balance now (owners)",
        description="All of what is available now, to the default destination, confirmed "
        "with the owner's account password. 201 with the payout (in transit; the bank "
        "confirms shortly). 409 `payouts_paused`, `no_destination`, `nothing_available` "
        "or `below_minimum`; 400 `password_wrong`; admins 403.",
        parameters=[IDEMPOTENCY_KEY],
        request=PayoutNowInputSerializer,
        responses={201: PayoutSerializer, **IDEMPOTENCY_ERRORS},
    )
    @idempotent
    @sensitive_variables("data")
    def post(self, request, slug):
        business = _payout_business(request, slug)
        data = input_data(request, PayoutNowInputSerializer)
        payout = payout_services.pay_out_now(
            actor=request.user,
            business=business,
            password=data["password"],
            attempt=f"api:{request.user.pk}:{request.idempotency_key}",
        )
        return Response(PayoutSerializer(payout).data, status=status.HTTP_201_CREATED)


class BusinessPayoutScheduleView(APIView):
    @extend_schema(
        tags=PAYOUTS,
        summary="When the business is paid out automatically (admin+)",
        responses=PayoutScheduleSerializer,
    )
    def get(self, request, slug):
        business = _payout_business(request, slug)
        return Response({"schedule": payout_services.payout_schedule(business)})

    @extend_schema(
        tags=PAYOUTS,
        summary="Choose when the business is paid out automatically (owners)",
        description="`daily` (the default), `weekly` (Mondays in the business's time zone) "
        "or `off` (only when an owner asks). Admins 403.",
        request=PayoutScheduleSerializer,
        responses=PayoutScheduleSerializer,
    )
    def put(self, request, slug):
        business = _payout_business(request, slug)
        data = input_data(request, PayoutScheduleSerializer)
        control = payout_services.set_payout_schedule(
            actor=request.user, business=business, schedule=data["schedule"]
        )
        return Response({"schedule": control.schedule})


def _statement_response(request, *, business=None):
    params = query_data(request, StatementQuerySerializer)
    tz = business.tz if business else timezone.get_default_timezone()
    start, end = parse_period(params["start"], params["end"], today=timezone.localdate(timezone=tz))
    currency = business.currency if business else payout_services.PAYOUT_CURRENCY
    opening, entries = selectors.statement_entries(
        start=start, end=end, business=business, user=request.user, currency=currency
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    holder = business.slug if business else "wallet"
    response["Content-Disposition"] = f'attachment; filename="statement-{holder}-{start}-{end}.csv"'
    write_statement(response, opening=opening, entries=entries.iterator(), currency=currency, tz=tz)
    return response


class BusinessStatementView(APIView):
    @extend_schema(
        tags=PAYOUTS,
        summary="The business's statement as CSV (admin+)",
        description="Every posting to the merchant payable account from `start` to `end` "
        "(days in the business's time zone).",
        parameters=[StatementQuerySerializer],
        responses=CSV_RESPONSE,
    )
    def get(self, request, slug):
        return _statement_response(request, business=_payout_business(request, slug))


class MyStatementView(APIView):
    @extend_schema(
        tags=PAYOUTS,
        summary="My wallet's statement as CSV",
        parameters=[StatementQuerySerializer],
        responses=CSV_RESPONSE,
    )
    def get(self, request):
        return _statement_response(request)


class MyWalletBalanceView(APIView):
    @extend_schema(tags=PAYOUTS, summary="My wallet's balance", responses=WalletBalanceSerializer)
    def get(self, request):
        currency = payout_services.PAYOUT_CURRENCY
        body = {"currency": currency, "balance": selectors.wallet_balance(user=request.user)}
        return Response(WalletBalanceSerializer(body).data)


class MyPayoutListView(APIView):
    @extend_schema(
        tags=PAYOUTS,
        summary="List my withdrawals",
        parameters=[PayoutFilterSerializer],
        responses=PayoutSerializer(many=True),
    )
    def get(self, request):
        params = query_data(request, PayoutFilterSerializer)
        found = selectors.list_payouts(user=request.user, limit=params["limit"])
        return Response(PayoutSerializer(found, many=True).data)


class MyWithdrawalView(APIView):
    @extend_schema(
        tags=PAYOUTS,
        summary="Withdraw from my wallet",
        description="To one of my destinations, confirmed with the payment PIN. 201 with the "
        "payout (in transit; the bank confirms shortly). At least the minimum payout; at "
        "most the wallet balance (else 400 `insufficient_balance`).",
        parameters=[IDEMPOTENCY_KEY],
        request=WithdrawalInputSerializer,
        responses={201: PayoutSerializer, **IDEMPOTENCY_ERRORS},
    )
    @idempotent
    @sensitive_variables("data")
    def post(self, request):
        data = input_data(request, WithdrawalInputSerializer)
        try:
            destination = selectors.get_destination_for(
                destination_id=data["destination_id"], user=request.user
            )
        except Http404:
            raise AppError(
                _("Choose one of your payout destinations."),
                code="destination_invalid",
                field="destination_id",
            ) from None
        payout = payout_services.request_withdrawal(
            user=request.user,
            destination=destination,
            amount=data["amount"],
            idempotency_key=request.idempotency_key,
            pin=data["pin"],
        )
        return Response(PayoutSerializer(payout).data, status=status.HTTP_201_CREATED)


# --- Refunds ----------------------------------------------------------------------------------


def _refund_order(request, order_id):
    """The order if the user is an owner or admin of its business: 404 for anyone who
    cannot see it, 403 for its customer and for agents."""
    order = selectors.get_order_for(user=request.user, order_id=order_id)
    if order.membership is None or order.membership.role not in (ROLE.OWNER, ROLE.ADMIN):
        raise PermissionDenied
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


# --- Person to person ---------------------------------------------------------------------------


def _direct_conversation(request, conversation_id):
    return get_conversation_for(user=request.user, conversation_id=conversation_id)


def _debit_card(request, card_id):
    try:
        return selectors.get_card_for(user=request.user, card_id=card_id)
    except Http404:
        raise AppError(
            _("Choose one of your cards."), code="card_invalid", field="card_id"
        ) from None


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
            card=_debit_card(request, data["card_id"]),
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
            card=_debit_card(request, data["card_id"]),
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
            raise PermissionDenied
        options = p2p.payment_options(
            payer=request.user,
            conversation=money_request.conversation,
            amount=money_request.amount,
            currency=money_request.currency,
        )
        return Response(WebAuthnOptionsSerializer({"options": options}).data)
