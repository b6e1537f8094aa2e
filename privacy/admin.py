"""Operators see the privacy requests (exports, deletions, erasures) with their dates
and status, searchable by the subject's pseudonym key, the business or the id. Read
only: the services write them. No personal data is shown: the subject is its
pseudonym key, not its e-mail."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from privacy.models import PrivacyRequest


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "pk", "kind", "status", "subject_label", "business", "progress", "created_at",
        "completed_at", "expires_at",
    ]  # fmt: skip
    list_filter = ["kind", "status"]
    search_fields = ["=pk", "subject_label", "business__name", "business__slug"]
    list_select_related = ["business"]
    fields = [
        "kind", "status", "subject_label", "business", "progress", "file_size", "error",
        "created_at", "completed_at", "expires_at",
    ]  # fmt: skip
    readonly_fields = fields
