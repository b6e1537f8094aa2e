"""Balances, payouts and statements: a business's (its admins and owners) and a
user's own wallet balance, withdrawals and statement.
"""

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import input_data, query_data
from core.errors import AppError
from payments import selectors
from payments.api.common import IDEMPOTENCY_ERRORS, IDEMPOTENCY_KEY, PAYOUTS, payout_business
from payments.idempotency import idempotent
from payments.serializers.payouts import (
    BalanceSerializer,
    PayoutFilterSerializer,
    PayoutNowInputSerializer,
    PayoutScheduleSerializer,
    PayoutSerializer,
    StatementQuerySerializer,
    WalletBalanceSerializer,
    WithdrawalInputSerializer,
)
from payments.services import payouts as payout_services
from payments.statements import parse_period, write_statement

CSV_RESPONSE = {
    (200, "text/csv"): OpenApiResponse(
        response=OpenApiTypes.STR,
        description="CSV: date, posting, kind, description, order, payout, amount, balance, "
        "currency (amounts in major units as decimal strings; an opening-balance line first).",
    )
}


class BusinessBalanceView(APIView):
    @extend_schema(
        tags=PAYOUTS,
        summary="The business's balance (admin+)",
        description="Available now, pending with the day each part becomes available "
        "(D+1 debit, D+2 credit), and whether payouts are paused.",
        responses=BalanceSerializer,
    )
    def get(self, request, slug):
        business = payout_business(request, slug)
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
        business = payout_business(request, slug)
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
        business = payout_business(request, slug)
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
        business = payout_business(request, slug)
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
        business = payout_business(request, slug)
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
        return _statement_response(request, business=payout_business(request, slug))


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
