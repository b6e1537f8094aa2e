from django.contrib import admin

from core.models import OutgoingEmail


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """Queued e-mails (core.mail): a ``failed`` one shows its last error."""

    list_display = ("dedupe_key", "to", "status", "attempts", "due_at", "sent_at")
    list_filter = ("status",)
    search_fields = ("dedupe_key", "to")
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
