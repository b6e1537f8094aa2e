"""Payments API routes: the user's wallet under ``wallet/``, orders and paying under
``orders/``, the user's payments under ``payments/``, and the business's orders,
payment requests and payments under ``businesses/<slug>/``."""

from django.urls import path

from payments import api

SHOP = "businesses/<slug:slug>/"
ORDER = "orders/<int:order_id>/"
CONVERSATION = "conversations/<int:conversation_id>/"
MONEY_REQUEST = "money-requests/<int:request_id>/"

urlpatterns = [
    path("wallet/cards/", api.CardListView.as_view(), name="api_cards"),
    path("wallet/cards/<int:card_id>/", api.CardDetailView.as_view(), name="api_card_detail"),
    path(
        "wallet/cards/<int:card_id>/default/",
        api.CardDefaultView.as_view(),
        name="api_card_default",
    ),
    path("wallet/pin/", api.PinStatusView.as_view(), name="api_pin_status"),
    path("wallet/fingerprints/", api.FingerprintListView.as_view(), name="api_fingerprints"),
    path(
        "wallet/fingerprints/options/",
        api.FingerprintOptionsView.as_view(),
        name="api_fingerprint_options",
    ),
    path(
        "wallet/fingerprints/<int:credential_id>/",
        api.FingerprintDetailView.as_view(),
        name="api_fingerprint_detail",
    ),
    path(
        SHOP + "conversations/<int:conversation_id>/orders/",
        api.OrderCreateView.as_view(),
        name="api_order_create",
    ),
    path(SHOP + "orders/", api.BusinessOrderListView.as_view(), name="api_business_orders"),
    path(SHOP + "payments/", api.BusinessPaymentListView.as_view(), name="api_business_payments"),
    path(ORDER, api.OrderDetailView.as_view(), name="api_order_detail"),
    path(ORDER + "cancel/", api.OrderCancelView.as_view(), name="api_order_cancel"),
    path(ORDER + "pay/", api.OrderPayView.as_view(), name="api_order_pay"),
    path(
        ORDER + "pay/fingerprint/",
        api.OrderPayFingerprintView.as_view(),
        name="api_order_pay_fingerprint",
    ),
    path("payments/", api.MyPaymentListView.as_view(), name="api_my_payments"),
    path("payments/<int:payment_id>/", api.PaymentDetailView.as_view(), name="api_payment"),
    path(
        "payments/<int:payment_id>/resume/",
        api.PaymentResumeView.as_view(),
        name="api_payment_resume",
    ),
    path(ORDER + "refunds/", api.OrderRefundListView.as_view(), name="api_order_refunds"),
    path(CONVERSATION + "send-money/", api.SendMoneyView.as_view(), name="api_send_money"),
    path(
        CONVERSATION + "send-money/fingerprint/",
        api.SendMoneyFingerprintView.as_view(),
        name="api_send_money_fingerprint",
    ),
    path(
        CONVERSATION + "money-requests/",
        api.MoneyRequestCreateView.as_view(),
        name="api_money_request_create",
    ),
    path(MONEY_REQUEST, api.MoneyRequestDetailView.as_view(), name="api_money_request"),
    path(MONEY_REQUEST + "pay/", api.MoneyRequestPayView.as_view(), name="api_money_request_pay"),
    path(
        MONEY_REQUEST + "pay/fingerprint/",
        api.MoneyRequestFingerprintView.as_view(),
        name="api_money_request_fingerprint",
    ),
]

urlpatterns += [
    path(SHOP + "payouts/destinations/", api.BusinessDestinationListView.as_view(),
         name="api_business_destinations"),
    path(SHOP + "payouts/destinations/<int:destination_id>/",
         api.BusinessDestinationDetailView.as_view(), name="api_business_destination_detail"),
    path(SHOP + "payouts/destinations/<int:destination_id>/default/",
         api.BusinessDestinationDefaultView.as_view(), name="api_business_destination_default"),
    path(SHOP + "payouts/", api.BusinessPayoutListView.as_view(), name="api_business_payouts"),
    path(SHOP + "payouts/now/", api.BusinessPayoutNowView.as_view(),
         name="api_business_pay_out_now"),
    path(SHOP + "payouts/schedule/", api.BusinessPayoutScheduleView.as_view(),
         name="api_business_payout_schedule"),
    path(SHOP + "balance/", api.BusinessBalanceView.as_view(), name="api_business_balance"),
    path(SHOP + "statement/", api.BusinessStatementView.as_view(), name="api_business_statement"),
    path("wallet/destinations/", api.MyDestinationListView.as_view(), name="api_my_destinations"),
    path("wallet/destinations/<int:destination_id>/", api.MyDestinationDetailView.as_view(),
         name="api_my_destination_detail"),
    path("wallet/destinations/<int:destination_id>/default/",
         api.MyDestinationDefaultView.as_view(), name="api_my_destination_default"),
    path("wallet/balance/", api.MyWalletBalanceView.as_view(), name="api_wallet_balance"),
    path("wallet/payouts/", api.MyPayoutListView.as_view(), name="api_my_payouts"),
    path("wallet/withdrawals/", api.MyWithdrawalView.as_view(), name="api_withdraw"),
    path("wallet/statement/", api.MyStatementView.as_view(), name="api_wallet_statement"),
]  # fmt: skip
