"""``manage.py rebuild_insights [--business SLUG] [--since YYYY-MM-DD]``: recompute
the reports' rollups from the raw rows (docs/insights.md, "Rollups")."""

import datetime
import time

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Business
from insights.services import rollups


class Command(BaseCommand):
    help = "Recompute the Insights rollups from conversations, messages, orders and ratings."

    def add_arguments(self, parser):
        parser.add_argument("--business", metavar="SLUG", help="Only this business.")
        parser.add_argument(
            "--since", metavar="YYYY-MM-DD", help="Only the days from this date on."
        )

    def handle(self, *args, business=None, since=None, **options):
        shop = None
        if business:
            shop = Business.objects.filter(slug=business).first()
            if shop is None:
                raise CommandError(f"No business with the slug {business!r}.")
        day = None
        if since:
            try:
                day = datetime.date.fromisoformat(since)
            except ValueError as exc:
                raise CommandError(
                    f"--since must be a date like 2026-01-31, not {since!r}."
                ) from exc
        started = time.monotonic()
        count = rollups.rebuild(business=shop, since=day)
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(f"Rebuilt the rollups of {count} conversations in {seconds:.1f} s.")
        )
