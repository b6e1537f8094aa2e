from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"

    def ready(self) -> None:
        # Here, not at the top: registries load once the app registry is ready.
        from privacy import ui

        ui.register()
