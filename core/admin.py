from django.contrib import admin

from core.models import OutgoingEmail


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under their parent in the admin, never added, changed or deleted
    there (messages, ledger entries, events: the services write them)."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """Queued e-mails (core.mail): a ``failed`` one shows its last error."""

    list_display = ("dedupe_key", "to", "status", "attempts", "due_at", "sent_at")
    list_filter = ("status",)
    search_fields = ("dedupe_key", "to")
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
