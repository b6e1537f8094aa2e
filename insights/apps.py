from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"

    def ready(self) -> None:
        # Here, not at the top: registries fill once the app registry is ready.
        from insights import ui

        ui.register()
