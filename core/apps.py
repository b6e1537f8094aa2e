from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "core"

    def ready(self):
        from core.outage import database_answered

        # The first connection after an outage ends it in the log (core/outage.py).
        connection_created.connect(database_answered, dispatch_uid="core.outage")
