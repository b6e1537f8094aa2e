from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        # Here, not at the top: registries load once the app registry is ready
        # (start-up order, not a cycle).
        from catalog import ui

        ui.register()
