from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "core"

    def ready(self):
        # Imported here, not at the top: Django imports the app config before the
        # models are loaded.
        from core.outage import database_answered

        # The first connection after an outage ends it in the log (core/outage.py).
        connection_created.connect(database_answered, dispatch_uid="core.outage")
