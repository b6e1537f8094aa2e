"""Operators' view of payments. Money records are read-only here: ledger rows are
append-only (a correction is a new posting made by a service) and the audit trail is
the history of what happened, so the admin can look but never add, change or delete.
"""

from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from payments.models import (
    AuditEvent,
    Card,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    MoneyRequest,
    Order,
    OrderItem,
    P2PLimits,
    Payment,
    PixAnomaly,
    PixCharge,
    ReceivedPix,
    Refund,
)
from payments.services import payouts

# --- Ledger ------------------------------------------------------------------------


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "kind", "currency", "business", "user", "balance", "is_system"]
    list_filter = ["kind", "currency", "is_system"]
    search_fields = ["code", "business__name", "business__slug", "user__email"]
    list_select_related = ["business", "user"]
    fields = readonly_fields = [
        "code", "kind", "currency", "business", "user", "balance", "is_system",
    ]  # fmt: skip


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = readonly_fields = ["account", "amount", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account")


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "created_at", "kind", "currency", "payment", "description"]
    list_filter = ["kind", "currency"]
    search_fields = ["description", "payment__idempotency_key", "payment__gateway_reference"]
    list_select_related = ["payment"]
    date_hierarchy = "created_at"
    fields = readonly_fields = ["kind", "currency", "payment", "description", "created_at"]
    inlines = [LedgerEntryInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "created_at", "transaction", "account", "amount"]
    list_filter = ["account__kind", "account__currency"]
    search_fields = ["account__code"]
    list_select_related = ["transaction", "account"]
    fields = readonly_fields = ["transaction", "account", "amount", "created_at"]


# --- Audit -------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "from_status", "to_status", "order", "payment", "actor"]
    list_filter = ["action"]
    ordering = ["-created_at", "-id"]
    search_fields = ["action", "actor__email"]
    list_select_related = ["order", "payment", "actor"]
    date_hierarchy = "created_at"
    fields = readonly_fields = [
        "created_at", "action", "from_status", "to_status", "order", "payment", "actor", "data",
    ]  # fmt: skip


# --- Orders ------------------------------------------------------------------------


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = readonly_fields = [
        "position", "name", "product", "unit_price", "quantity", "line_total",
    ]  # fmt: skip


class OrderEventInline(ReadOnlyInline):
    model = AuditEvent
    fk_name = "order"
    fields = readonly_fields = ["created_at", "action", "from_status", "to_status", "actor", "data"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "pk", "business", "number", "customer", "total", "currency", "status", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "paid_outside", "currency"]
    search_fields = ["business__name", "business__slug", "customer__email", "=number"]
    list_select_related = ["business", "customer"]
    date_hierarchy = "created_at"
    fields = readonly_fields = [
        "business", "number", "conversation", "customer", "status", "currency", "subtotal",
        "shipping", "discount", "total", "note", "expires_at", "created_by", "created_at",
        "paid_at", "paid_outside", "message",
    ]  # fmt: skip
    inlines = [OrderItemInline, OrderEventInline]


# --- Cards -------------------------------------------------------------------------


@admin.register(Card)
class CardAdmin(ReadOnlyAdmin):
    """Brand, last 4, expiry, holder and gateway — never the token, which can charge
    the card."""

    list_display = ["__str__", "user", "brand", "last4", "exp_month", "exp_year", "holder_name",
                    "gateway", "is_default", "removed_at"]  # fmt: skip
    list_filter = ["brand", "gateway"]
    search_fields = ["user__email", "=last4", "holder_name"]
    list_select_related = ["user"]
    fields = readonly_fields = [
        "user", "brand", "funding", "last4", "exp_month", "exp_year", "holder_name", "gateway",
        "is_default", "created_at", "removed_at",
    ]  # fmt: skip


# --- PIN and fingerprints ----------------------------------------------------------------
# (Imported here so this section stands alone; fold into the imports above at will.)
from payments.models import PaymentPin, WebAuthnCredential  # noqa: E402


@admin.register(PaymentPin)
class PaymentPinAdmin(ReadOnlyAdmin):
    """The attempt counter and locks only — never the hash."""

    list_display = ["user", "failed_attempts", "locked_until", "needs_reset", "updated_at"]
    list_filter = ["needs_reset"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = readonly_fields = ["user", "failed_attempts", "locked_until", "needs_reset"]


@admin.register(WebAuthnCredential)
class WebAuthnCredentialAdmin(ReadOnlyAdmin):
    """Registered fingerprints: who, what name, when; the key material stays out."""

    list_display = ["name", "user", "sign_count", "created_at", "last_used_at"]
    search_fields = ["user__email", "name"]
    list_select_related = ["user"]
    fields = readonly_fields = ["user", "name", "transports", "sign_count", "created_at",
                                "last_used_at"]  # fmt: skip


# --- Payments ----------------------------------------------------------------------


class PaymentEventInline(ReadOnlyInline):
    model = AuditEvent
    fk_name = "payment"
    fields = readonly_fields = ["created_at", "action", "from_status", "to_status", "actor", "data"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "pk", "business", "order", "payer", "payee", "amount", "fee", "refunded", "currency",
        "status", "confirmation", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "method", "confirmation", "gateway", "currency"]
    search_fields = ["business__name", "payer__email", "gateway_reference", "=idempotency_key"]
    list_select_related = ["business", "order", "payer", "payee"]
    date_hierarchy = "created_at"
    fields = readonly_fields = [
        "order", "payer", "business", "payee", "conversation", "money_request", "note", "method",
        "card", "amount", "fee", "refunded", "currency", "status", "confirmation",
        "idempotency_key", "gateway", "gateway_reference", "funding",
        "failure_code", "failure_message", "created_at", "completed_at",
    ]  # fmt: skip
    inlines = [PaymentEventInline]


# --- Collected Pix (docs/pix.md) ---------------------------------------------------


@admin.register(PixCharge)
class PixChargeAdmin(ReadOnlyAdmin):
    list_display = ["txid", "business", "order", "amount", "status", "expires_at", "created_at"]
    list_filter = ["status", "provider"]
    search_fields = ["=txid", "business__name", "customer__email"]
    list_select_related = ["business", "order"]
    date_hierarchy = "created_at"
    fields = readonly_fields = [
        "txid", "provider", "order", "business", "customer", "amount", "currency", "status",
        "expires_at", "payment", "copy_paste", "location", "created_at", "closed_at",
    ]  # fmt: skip


_RECEIVED_FIELDS = [
    "end_to_end_id", "provider", "txid", "amount", "paid_at", "payer_name", "charge", "order",
    "payment", "anomaly", "refund_status", "refund_id", "refund_reference", "refund_error",
    "received_at",
]  # fmt: skip


@admin.register(ReceivedPix)
class ReceivedPixAdmin(ReadOnlyAdmin):
    list_display = ["end_to_end_id", "txid", "amount", "paid_at", "order", "payment", "anomaly"]
    list_filter = ["anomaly", "refund_status", "provider"]
    search_fields = ["=end_to_end_id", "=txid"]
    list_select_related = ["order", "payment"]
    date_hierarchy = "received_at"
    fields = readonly_fields = _RECEIVED_FIELDS


@admin.register(PixAnomaly)
class PixAnomalyAdmin(ReadOnlyAdmin):
    """Pix that paid nothing: what the operator follows up (a failed return by hand)."""

    list_display = [
        "end_to_end_id", "anomaly", "amount", "txid", "order", "refund_status", "received_at",
    ]  # fmt: skip
    list_filter = ["anomaly", "refund_status", "provider"]
    search_fields = ["=end_to_end_id", "=txid", "payer_name"]
    list_select_related = ["order"]
    date_hierarchy = "received_at"
    fields = readonly_fields = _RECEIVED_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(anomaly="")


# --- Payouts -------------------------------------------------------------------------
from django.contrib import messages  # noqa: E402

from payments.models import (  # noqa: E402
    Discrepancy,
    Payout,
    PayoutControl,
    PayoutDestination,
    ReconciliationRun,
)


@admin.register(PayoutDestination)
class PayoutDestinationAdmin(ReadOnlyAdmin):
    """Masked: the full account number, document or Pix key is never shown here."""

    list_display = ["__str__", "business", "user", "kind", "is_default", "created_at", "removed_at"]
    list_filter = ["kind", "is_default"]
    search_fields = ["business__name", "business__slug", "user__email"]
    list_select_related = ["business", "user"]
    fields = readonly_fields = [
        "masked", "holder", "business", "user", "kind", "is_default", "created_by", "created_at",
        "updated_at", "removed_at",
    ]  # fmt: skip

    @admin.display(description="destination")
    def masked(self, obj):
        return obj.masked()

    @admin.display(description="holder")
    def holder(self, obj):
        return f"{obj.holder_name} {obj.holder_masked()}".strip()


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = [
        "pk", "business", "user", "amount", "currency", "status", "destination_label",
        "failure_code", "created_at", "completed_at",
    ]  # fmt: skip
    list_filter = ["status", "bank", "currency"]
    search_fields = ["business__name", "business__slug", "user__email", "bank_reference"]
    list_select_related = ["business", "user"]
    date_hierarchy = "created_at"
    fields = readonly_fields = [
        "business", "user", "destination_label", "amount", "currency", "status",
        "idempotency_key", "bank", "bank_reference", "failure_code", "failure_message",
        "requested_by", "created_at", "completed_at",
    ]  # fmt: skip


@admin.register(PayoutControl)
class PayoutControlAdmin(admin.ModelAdmin):
    """Pause a business's payouts (with a reason the business sees) or resume them.
    Saving and the actions go through ``services.payouts.set_payouts_paused``."""

    list_display = ["business", "paused", "reason", "updated_at"]
    list_filter = ["paused"]
    search_fields = ["business__name", "business__slug"]
    list_select_related = ["business"]
    autocomplete_fields = ["business"]
    fields = ["business", "paused", "reason"]
    actions = ["pause", "resume"]

    def get_readonly_fields(self, request, obj=None):
        return ["business"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = payouts.set_payouts_paused(
            business=obj.business, paused=obj.paused, reason=obj.reason
        )
        obj.__dict__.update(saved.__dict__)

    @admin.action(description="Pause payouts of the selected businesses")
    def pause(self, request, queryset):
        for control in queryset.select_related("business"):
            payouts.set_payouts_paused(
                business=control.business, paused=True, reason=control.reason
            )
        messages.success(request, "Payouts paused.")

    @admin.action(description="Resume payouts of the selected businesses")
    def resume(self, request, queryset):
        for control in queryset.select_related("business"):
            payouts.set_payouts_paused(business=control.business, paused=False)
        messages.success(request, "Payouts resumed.")


class DiscrepancyInline(ReadOnlyInline):
    model = Discrepancy
    fields = readonly_fields = ["check_name", "subject", "detail"]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "started_at", "finished_at", "discrepancy_count"]
    date_hierarchy = "started_at"
    fields = readonly_fields = ["started_at", "finished_at", "checks", "discrepancy_count"]
    inlines = [DiscrepancyInline]


@admin.register(Discrepancy)
class DiscrepancyAdmin(ReadOnlyAdmin):
    list_display = ["pk", "run", "check_name", "subject", "detail"]
    list_filter = ["check_name"]
    search_fields = ["subject", "detail"]
    list_select_related = ["run"]
    fields = readonly_fields = ["run", "check_name", "subject", "detail"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "pk", "order", "payment", "amount", "fee", "currency", "status", "created_by", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "gateway", "currency"]
    search_fields = ["gateway_reference", "=idempotency_key", "order__business__name"]
    list_select_related = ["order", "payment", "created_by"]
    date_hierarchy = "created_at"
    fields = readonly_fields = [
        "payment", "order", "amount", "fee", "currency", "reason", "status", "idempotency_key",
        "gateway", "gateway_reference", "failure_code", "failure_message", "created_by",
        "created_at", "completed_at",
    ]  # fmt: skip


@admin.register(MoneyRequest)
class MoneyRequestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "requester", "payer", "amount", "currency", "status", "created_at"]
    list_filter = ["status", "currency"]
    list_select_related = ["requester", "payer"]
    fields = readonly_fields = [
        "conversation", "requester", "payer", "amount", "currency", "note", "status",
        "created_at", "closed_at",
    ]  # fmt: skip


@admin.register(P2PLimits)
class P2PLimitsAdmin(admin.ModelAdmin):
    """The one row of person-to-person limits: operators change the numbers; there is
    no second row to add and the row cannot be deleted."""

    list_display = [
        "currency", "max_per_payment", "max_received_per_day", "max_sent_per_month", "updated_at",
    ]  # fmt: skip
    fields = ["currency", "max_per_payment", "max_received_per_day", "max_sent_per_month"]
    readonly_fields = ["currency"]

    def has_add_permission(self, request):
        return not P2PLimits.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
