"""Operators see the endpoints and the delivery log; they change nothing here (the
merchant does, in Dashboard → Integrations), and never see a signing secret."""

from django.contrib import admin

from webhooks.models import Attempt, Delivery, Endpoint, Event


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = [
        "url",
        "business",
        "is_enabled",
        "disabled_reason",
        "failing_since",
        "created_at",
    ]
    list_filter = ["is_enabled", "disabled_reason"]
    search_fields = ["url", "business__name"]
    exclude = ["secret", "previous_secret"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["msg_id", "type", "business", "created_at"]
    list_filter = ["type"]
    search_fields = ["msg_id", "business__name"]
    date_hierarchy = "created_at"


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    fields = ["created_at", "status_code", "duration_ms", "error", "response_body"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "event",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
    ]
    list_filter = ["status"]
    raw_id_fields = ["event", "endpoint"]
    inlines = [AttemptInline]
