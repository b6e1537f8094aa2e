"""``manage.py reconcile``: run every reconciliation check, print and store each
discrepancy (docs/payments.md, "Reconciliation")."""

from django.core.management.base import BaseCommand

from payments.services import reconciliation


class Command(BaseCommand):
    help = "Check the ledger, the card payments and the payouts; print every discrepancy."

    def handle(self, *args, **options):
        def report(finding):
            self.stdout.write(f"{finding.check}: {finding.subject}: {finding.detail}")

        run = reconciliation.run_reconciliation(report=report)
        summary = f"Reconciliation {run.pk}: {run.discrepancy_count} discrepancies."
        style = self.style.SUCCESS if run.discrepancy_count == 0 else self.style.ERROR
        self.stdout.write(style(summary))
        if run.discrepancy_count:
            raise SystemExit(1)
