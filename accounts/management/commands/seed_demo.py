from django.core.management.base import BaseCommand

from accounts import demo


class Command(BaseCommand):
    help = "Load the demo businesses and users when the database is empty."

    def add_arguments(self, parser):
        parser.add_argument("--print-logins", action="store_true", help="Print the demo logins.")

    def handle(self, *args, print_logins=False, **options):
        if demo.database_is_empty():
            demo.load_demo()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        else:
            self.stdout.write("Database not empty; demo data left as it is.")
        if print_logins:
            self.stdout.write(f"\nDemo logins (password for all: {demo.DEMO_PASSWORD}):")
            for email, role in demo.logins():
                self.stdout.write(f"  {email:32} {role}")
