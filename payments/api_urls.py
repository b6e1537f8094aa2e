"""Payments API routes: the user's wallet under ``wallet/``, orders and paying under
``orders/``, the user's payments under ``payments/``, and the business's orders,
payment requests, payments and shipping (``orders/<id>/shipments/``, ``deliver/``)
under ``businesses/<slug>/``."""

from django.urls import path

from payments.api import (
    cards,
    destinations,
    direct_pix,
    orders,
    p2p,
    paying,
    payouts,
    pix,
    refunds,
    shipping,
)

SHOP = "businesses/<slug:slug>/"
ORDER = "orders/<int:order_id>/"
CONVERSATION = "conversations/<int:conversation_id>/"
MONEY_REQUEST = "money-requests/<int:request_id>/"

urlpatterns = [
    path("wallet/cards/", cards.CardListView.as_view(), name="api_cards"),
    path("wallet/cards/<int:card_id>/", cards.CardDetailView.as_view(), name="api_card_detail"),
    path(
        "wallet/cards/<int:card_id>/default/",
        cards.CardDefaultView.as_view(),
        name="api_card_default",
    ),
    path("wallet/pin/", cards.PinStatusView.as_view(), name="api_pin_status"),
    path("wallet/fingerprints/", cards.FingerprintListView.as_view(), name="api_fingerprints"),
    path(
        "wallet/fingerprints/options/",
        cards.FingerprintOptionsView.as_view(),
        name="api_fingerprint_options",
    ),
    path(
        "wallet/fingerprints/<int:credential_id>/",
        cards.FingerprintDetailView.as_view(),
        name="api_fingerprint_detail",
    ),
    path(
        SHOP + "conversations/<int:conversation_id>/orders/",
        orders.OrderCreateView.as_view(),
        name="api_order_create",
    ),
    path(SHOP + "orders/", orders.BusinessOrderListView.as_view(), name="api_business_orders"),
    path(
        SHOP + ORDER + "pix-received/",
        direct_pix.OrderPixReceivedView.as_view(),
        name="api_order_pix_received",
    ),
    path(
        SHOP + "payments/", paying.BusinessPaymentListView.as_view(), name="api_business_payments"
    ),
    path(
        SHOP + ORDER + "shipments/",
        shipping.OrderShipmentListView.as_view(),
        name="api_order_shipments",
    ),
    path(SHOP + ORDER + "deliver/", shipping.OrderDeliverView.as_view(), name="api_order_deliver"),
    path(ORDER, orders.OrderDetailView.as_view(), name="api_order_detail"),
    path(ORDER + "cancel/", orders.OrderCancelView.as_view(), name="api_order_cancel"),
    path(ORDER + "pay/", paying.OrderPayView.as_view(), name="api_order_pay"),
    path(ORDER + "pix/", pix.OrderPixView.as_view(), name="api_order_pix"),
    path(ORDER + "pix/direct/", pix.OrderDirectPixView.as_view(), name="api_order_direct_pix"),
    path(
        ORDER + "pay/fingerprint/",
        paying.OrderPayFingerprintView.as_view(),
        name="api_order_pay_fingerprint",
    ),
    path("payments/", paying.MyPaymentListView.as_view(), name="api_my_payments"),
    path("payments/<int:payment_id>/", paying.PaymentDetailView.as_view(), name="api_payment"),
    path(
        "payments/<int:payment_id>/resume/",
        paying.PaymentResumeView.as_view(),
        name="api_payment_resume",
    ),
    path(ORDER + "refunds/", refunds.OrderRefundListView.as_view(), name="api_order_refunds"),
    path(CONVERSATION + "send-money/", p2p.SendMoneyView.as_view(), name="api_send_money"),
    path(
        CONVERSATION + "send-money/fingerprint/",
        p2p.SendMoneyFingerprintView.as_view(),
        name="api_send_money_fingerprint",
    ),
    path(
        CONVERSATION + "money-requests/",
        p2p.MoneyRequestCreateView.as_view(),
        name="api_money_request_create",
    ),
    path(MONEY_REQUEST, p2p.MoneyRequestDetailView.as_view(), name="api_money_request"),
    path(MONEY_REQUEST + "pay/", p2p.MoneyRequestPayView.as_view(), name="api_money_request_pay"),
    path(
        MONEY_REQUEST + "pay/fingerprint/",
        p2p.MoneyRequestFingerprintView.as_view(),
        name="api_money_request_fingerprint",
    ),
]

urlpatterns += [
    path(
        SHOP + "payouts/destinations/",
        destinations.BusinessDestinationListView.as_view(),
        name="api_business_destinations",
    ),
    path(
        SHOP + "payouts/destinations/<int:destination_id>/",
        destinations.BusinessDestinationDetailView.as_view(),
        name="api_business_destination_detail",
    ),
    path(
        SHOP + "payouts/destinations/<int:destination_id>/default/",
        destinations.BusinessDestinationDefaultView.as_view(),
        name="api_business_destination_default",
    ),
    path(SHOP + "payouts/", payouts.BusinessPayoutListView.as_view(), name="api_business_payouts"),
    path(
        SHOP + "payouts/now/",
        payouts.BusinessPayoutNowView.as_view(),
        name="api_business_pay_out_now",
    ),
    path(
        SHOP + "payouts/schedule/",
        payouts.BusinessPayoutScheduleView.as_view(),
        name="api_business_payout_schedule",
    ),
    path(SHOP + "balance/", payouts.BusinessBalanceView.as_view(), name="api_business_balance"),
    path(
        SHOP + "statement/", payouts.BusinessStatementView.as_view(), name="api_business_statement"
    ),
    path(
        "wallet/destinations/",
        destinations.MyDestinationListView.as_view(),
        name="api_my_destinations",
    ),
    path(
        "wallet/destinations/<int:destination_id>/",
        destinations.MyDestinationDetailView.as_view(),
        name="api_my_destination_detail",
    ),
    path(
        "wallet/destinations/<int:destination_id>/default/",
        destinations.MyDestinationDefaultView.as_view(),
        name="api_my_destination_default",
    ),
    path("wallet/balance/", payouts.MyWalletBalanceView.as_view(), name="api_wallet_balance"),
    path("wallet/payouts/", payouts.MyPayoutListView.as_view(), name="api_my_payouts"),
    path("wallet/withdrawals/", payouts.MyWithdrawalView.as_view(), name="api_withdraw"),
    path("wallet/statement/", payouts.MyStatementView.as_view(), name="api_wallet_statement"),
]
