"""The payments app's models, one module per area (as Zulip's ``zerver/models/``), the
same areas as ``payments/services/``: ``cards`` (cards, PIN, fingerprints and
challenges), ``orders``, ``paying`` (payments, the audit trail, stored idempotent
responses), ``refunds``, ``p2p``, ``ledger``, ``destinations``, ``payouts``,
``reconciliation``, ``shipping`` and ``pix``.

Money is always an integer number of minor units with a currency (invariant 1). A
card number or CVC never reaches these modules: a card is the gateway's token, brand,
last four digits, expiry and holder name (invariant 2). Payments move money once: a
partial unique index allows one live payment per order, and every gateway call is
keyed by the attempt's idempotency key (invariant 3). Ledger entries are
append-only and every transaction sums to zero (invariant 4; enforced again by
PostgreSQL triggers, see docs/payments.md).

Every model is re-exported here (Django's convention, and what the migrations and
``from payments.models import Order`` expect); the import order is the order the
models are registered in.
"""

from payments.models.cards import Card, Challenge, PaymentPin, WebAuthnCredential
from payments.models.destinations import PayoutDestination, mask_document
from payments.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction
from payments.models.orders import Order, OrderItem
from payments.models.p2p import MoneyRequest, P2PLimits
from payments.models.paying import AuditEvent, IdempotencyRecord, Payment
from payments.models.payouts import Payout, PayoutControl
from payments.models.pix import (
    PixAnomaly,
    PixCharge,
    ReceivedPix,
    SandboxPix,
    SandboxPixCharge,
)
from payments.models.reconciliation import Discrepancy, ReconciliationRun
from payments.models.refunds import Refund
from payments.models.shipping import Shipment, ShipmentItem

__all__ = [
    "AuditEvent",
    "Card",
    "Challenge",
    "Discrepancy",
    "IdempotencyRecord",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "MoneyRequest",
    "Order",
    "OrderItem",
    "P2PLimits",
    "Payment",
    "PaymentPin",
    "Payout",
    "PayoutControl",
    "PayoutDestination",
    "PixAnomaly",
    "PixCharge",
    "ReceivedPix",
    "ReconciliationRun",
    "Refund",
    "SandboxPix",
    "SandboxPixCharge",
    "Shipment",
    "ShipmentItem",
    "WebAuthnCredential",
    "mask_document",
]
