from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    ApiToken,
    Business,
    Invitation,
    Membership,
    OpeningHours,
    User,
)
from core.pagecache import forget_public_pages


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "display_name",
        "phone",
        "language",
        "is_staff",
        "is_active",
        "date_joined",
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", "language"]
    search_fields = ["email", "display_name", "phone"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["display_name", "phone", "language"]}),
        (
            _("Permissions"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


@admin.register(Business)
class BusinessAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "category",
        "city",
        "currency",
        "fee_bps",
        "fee_pix_bps",
        "pix_mode",
        "is_active",
        "created_at",
    ]
    list_filter = ["category", "currency", "is_active", "country"]
    search_fields = ["name", "slug", "city", "email"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline, OpeningHoursInline]
    readonly_fields = ["created_at", "updated_at"]

    # The admin writes rows directly, not through the services: it tells this
    # process's cached public pages itself (a save also moves updated_at, which
    # other processes see; see core.pagecache).
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        forget_public_pages()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        forget_public_pages()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        forget_public_pages()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "business", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "business__name", "business__slug"]
    list_select_related = ["user", "business"]
    raw_id_fields = ["user", "business"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "business", "role", "state", "created_at", "expires_at"]
    list_filter = ["role"]
    search_fields = ["email", "business__name"]
    list_select_related = ["business"]
    raw_id_fields = ["business", "invited_by", "accepted_by"]
    readonly_fields = ["key_hash", "created_at", "accepted_at", "accepted_by"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at",
    ]  # fmt: skip
    search_fields = ["name", "user__email", "prefix"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
