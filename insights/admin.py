from django.contrib import admin

from insights.models import AttributionSettings, Campaign, OrderAttribution, SpendLine, Touch


class SpendLineInline(admin.TabularInline):
    model = SpendLine
    extra = 0
    fields = ["day", "amount", "source"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name", "business", "code", "channel", "cost_mode", "total_cost", "is_automatic",
        "archived_at",
    ]  # fmt: skip
    list_filter = ["channel", "cost_mode", "is_automatic"]
    search_fields = ["name", "code", "business__name"]
    raw_id_fields = ["business", "broadcast", "created_by", "merged_into"]
    readonly_fields = ["is_automatic", "auto_key", "created_at"]
    inlines = [SpendLineInline]


@admin.register(SpendLine)
class SpendLineAdmin(admin.ModelAdmin):
    list_display = ["campaign", "day", "amount", "source"]
    list_filter = ["source"]
    raw_id_fields = ["campaign"]
    date_hierarchy = "day"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Touches and attributions are records of what happened: operators read them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Touch)
class TouchAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "business", "kind", "page", "campaign", "source", "medium"]
    list_filter = ["kind", "page"]
    raw_id_fields = ["business", "campaign", "contact", "conversation", "product", "broadcast"]
    date_hierarchy = "occurred_at"


@admin.register(OrderAttribution)
class OrderAttributionAdmin(ReadOnlyAdmin):
    list_display = [
        "order",
        "business",
        "paid_at",
        "gross",
        "fee",
        "first_campaign",
        "last_campaign",
    ]
    raw_id_fields = [
        "order", "business", "conversation", "contact", "first_touch", "first_campaign",
        "last_touch", "last_campaign",
    ]  # fmt: skip
    date_hierarchy = "paid_at"


@admin.register(AttributionSettings)
class AttributionSettingsAdmin(admin.ModelAdmin):
    list_display = ["business", "window_days"]
    raw_id_fields = ["business"]
