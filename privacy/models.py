"""People's data requests under LGPD (docs/privacy.md): exports (a user's own data,
or a business's contact's), account deletions and contact erasures.

A request holds no personal data of its subject: ``subject_label`` is a pseudonym
("User 7f3a…") made from a keyed hash of the user's id, the same one an erased
account is renamed to, so operators can search the requests of one person without
anything of theirs being kept.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.models import Business

USER = settings.AUTH_USER_MODEL


class PrivacyRequest(models.Model):
    class Kind(models.TextChoices):
        EXPORT = "export", _("Data export")
        DELETION = "deletion", _("Account deletion")
        CONTACT_EXPORT = "contact_export", _("Contact export")
        CONTACT_ERASURE = "contact_erasure", _("Contact erasure")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Being prepared")
        READY = "ready", _("Ready")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    # The one map of allowed moves; the services in privacy.services check it.
    TRANSITIONS = {
        Status.PENDING: {Status.RUNNING, Status.FAILED, Status.DONE},
        Status.RUNNING: {Status.READY, Status.FAILED, Status.DONE},
        Status.READY: {Status.EXPIRED},
        Status.DONE: set(),
        Status.FAILED: set(),
        Status.EXPIRED: set(),
    }
    LIVE = (Status.PENDING, Status.RUNNING)

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The person the data is about (the user row stays, pseudonymised, after erasure).
    subject = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    subject_label = models.CharField(_("subject"), max_length=40, db_index=True)
    # Who asked: the subject, or a business's owner or admin.
    actor = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    business = models.ForeignKey(
        Business, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    progress = models.PositiveSmallIntegerField(default=0)
    # The ZIP's file name under PRIVACY_EXPORT_DIR (random; never served publicly).
    file_name = models.CharField(max_length=80, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("privacy request")
        verbose_name_plural = _("privacy requests")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject", "kind", "-created_at"])]
        constraints = [
            # One export of the same scope at a time (the database decides a race).
            models.UniqueConstraint(
                fields=["subject", "kind"],
                condition=Q(status__in=["pending", "running"], business__isnull=True),
                name="privacy_one_live_export",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="privacy_progress_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.subject_label} · {self.get_status_display()}"

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())
