"""Operators' view of chats. Messages are the parties' record: the admin shows them
read-only (a correction would break what both sides saw). Reports are the
operators' queue: resolving one is the only change made here."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chats.models import (
    ConsentRecord,
    Contact,
    ContactNote,
    Conversation,
    InboxSettings,
    Label,
    Message,
    QuickReply,
    Report,
    ScheduledMessage,
)
from chats.services.outbox import retry_messages
from core.admin import ReadOnlyInline
from core.errors import AppError


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["seq", "created_at", "sender", "author", "kind", "body"]
    readonly_fields = fields
    ordering = ["-seq"]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sender", "author")


class ReportInline(ReadOnlyInline):
    model = Report
    fields = ["created_at", "reporter", "reason", "resolved_at"]
    readonly_fields = fields


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "business", "contact", "status", "assignee", "last_message_at"]
    list_filter = ["kind", "status"]
    search_fields = ["business__name", "contact__user__email", "direct_key"]
    list_select_related = ["business", "contact__user", "assignee"]
    readonly_fields = [
        "kind", "business", "contact", "direct_key", "last_seq", "last_message",
        "last_message_at", "away_sent_at", "ref", "utm_source", "utm_medium", "utm_campaign",
        "utm_term", "utm_content", "referrer", "created_at",
    ]  # fmt: skip
    raw_id_fields = ["assignee"]
    inlines = [ReportInline, MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["conversation", "seq", "kind", "author", "created_at"]
    list_filter = ["kind"]
    search_fields = ["body"]
    list_select_related = ["author"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.action(description=_("Mark as resolved"))
def resolve_reports(modeladmin, request, queryset):
    queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["pk", "conversation", "reporter", "created_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["conversation", "reporter", "reason", "created_at"]
    list_select_related = ["reporter"]
    actions = [resolve_reports]

    def has_add_permission(self, request):
        return False


class ContactNoteInline(ReadOnlyInline):
    model = ContactNote
    fields = ["created_at", "author", "body"]
    readonly_fields = fields


class ConsentRecordInline(ReadOnlyInline):
    """The contact's consent log: append-only, so read-only here."""

    model = ConsentRecord
    fields = ["created_at", "action", "source", "actor", "text", "text_version"]
    readonly_fields = fields


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["user", "business", "blocked_at", "created_at"]
    search_fields = ["user__email", "business__name"]
    list_select_related = ["user", "business"]
    raw_id_fields = ["user", "business", "blocked_by"]
    filter_horizontal = ["labels"]
    inlines = [ContactNoteInline, ConsentRecordInline]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "color", "business"]
    search_fields = ["name", "business__name"]


@admin.register(QuickReply)
class QuickReplyAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "business"]
    search_fields = ["shortcut", "text", "business__name"]


@admin.register(InboxSettings)
class InboxSettingsAdmin(admin.ModelAdmin):
    list_display = ["business", "greeting_enabled", "away_enabled"]


@admin.action(description=_("Retry (send again now)"))
def retry_scheduled(modeladmin, request, queryset):
    try:
        count = retry_messages(actor=request.user, ids=list(queryset.values_list("pk", flat=True)))
    except AppError as exc:
        modeladmin.message_user(request, str(exc.message), messages.ERROR)
        return
    modeladmin.message_user(
        request, _("%(count)d failed message(s) scheduled again.") % {"count": count}
    )


@admin.register(ScheduledMessage)
class ScheduledMessageAdmin(admin.ModelAdmin):
    """The outbox (docs/outbox.md): read-only; failed rows can be retried."""

    list_display = ["dedupe_key", "kind", "status", "due_at", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["dedupe_key"]
    date_hierarchy = "due_at"
    readonly_fields = [
        "conversation", "sender", "kind", "body", "payload", "dedupe_key", "due_at", "status",
        "attempts", "last_error", "message", "created_at", "sent_at",
    ]  # fmt: skip
    actions = [retry_scheduled]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
