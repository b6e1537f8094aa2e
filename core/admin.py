from django.contrib import admin

from core.models import OutgoingEmail


class ReadOnly:
    """For an admin or inline whose rows the operators see but never add, change or
    delete there (messages, ledger rows, events: the services write them)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    pass


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    """Rows shown under their parent in the admin, read-only (:class:`ReadOnly`)."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """Queued e-mails (core.mail): a ``failed`` one shows its last error."""

    list_display = ("dedupe_key", "to", "status", "attempts", "due_at", "sent_at")
    list_filter = ("status",)
    search_fields = ("dedupe_key", "to")
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
