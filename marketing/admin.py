from django.contrib import admin

from marketing.models import Broadcast, FollowUpRule, SatisfactionRating


@admin.register(FollowUpRule)
class FollowUpRuleAdmin(admin.ModelAdmin):
    list_display = ["business", "trigger", "delay_days", "ask_rating", "is_active", "is_default"]
    list_filter = ["trigger", "is_active"]
    raw_id_fields = ["business"]


@admin.register(SatisfactionRating)
class SatisfactionRatingAdmin(admin.ModelAdmin):
    list_display = ["order", "business", "score", "created_at"]
    list_filter = ["score"]
    raw_id_fields = ["order", "business", "customer"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    list_display = ["business", "audience", "send_at", "recipients", "created_at", "canceled_at"]
    raw_id_fields = ["business", "label", "product", "created_by", "canceled_by"]
    readonly_fields = ["recipients", "canceled_at", "canceled_by"]
