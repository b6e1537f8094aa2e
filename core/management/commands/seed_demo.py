"""Load each app's demo data (``<app>/demo.py: load_demo()``) into an empty database.

Apps load in INSTALLED_APPS order, which follows the dependency order (accounts
before catalog before chats …), so each app's demo can build on the ones below it.
"""

from importlib import import_module

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction


def _demo_modules():
    for config in apps.get_app_configs():
        try:
            yield import_module(f"{config.name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.demo":
                raise


class Command(BaseCommand):
    help = "Load the demo businesses, users and catalogs when the database is empty."

    def add_arguments(self, parser):
        parser.add_argument("--print-logins", action="store_true", help="Print the demo logins.")

    def handle(self, *args, print_logins=False, **options):
        modules = list(_demo_modules())
        if get_user_model().objects.exists():
            self.stdout.write("Database not empty; demo data left as it is.")
        else:
            with transaction.atomic():
                for module in modules:
                    module.load_demo()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        if print_logins:
            for module in modules:
                if hasattr(module, "print_logins"):
                    module.print_logins(self.stdout)
