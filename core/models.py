"""Rows of the shared infrastructure."""

from django.db import models
from django.db.models import Q


class OutgoingEmail(models.Model):
    """One e-mail that must not be lost (a security notice, a sign-up code): written in
    the transaction of the event it is about, sent by a worker, swept by the beat
    (core.mail, docs/outbox.md). Rendered when queued, in the recipient's language.
    A ``sensitive`` one (a one-time code, a reset link) has its body cleared once sent;
    one with ``forget_recipient`` (the notice to the old address of an erased account)
    has its address cleared too, so no trace of the person stays."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    dedupe_key = models.CharField(max_length=200, unique=True)
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    sensitive = models.BooleanField(default=False)
    forget_recipient = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # When it is due; a sender claiming it moves it to the end of its lease.
    due_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(status="pending"), name="outgoing_email_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dedupe_key} → {self.to} ({self.status})"
