"""Runs of the reconciliation checks and the discrepancies they found."""

from django.db import models
from django.utils.timezone import now


class ReconciliationRun(models.Model):
    """One run of the reconciliation checks (``manage.py reconcile``, nightly beat)."""

    started_at = models.DateTimeField(default=now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    checks = models.JSONField(default=list)
    discrepancy_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"reconciliation {self.pk} ({self.discrepancy_count} discrepancies)"


class Discrepancy(models.Model):
    run = models.ForeignKey(
        ReconciliationRun, on_delete=models.CASCADE, related_name="discrepancies"
    )
    check_name = models.CharField(max_length=60)
    subject = models.CharField(max_length=120)  # e.g. "ledger transaction 12"
    detail = models.TextField()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "discrepancies"

    def __str__(self) -> str:
        return f"{self.check_name}: {self.subject}"
