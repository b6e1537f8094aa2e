from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        # Imported here, not at the top: kinds use the models, which are not loaded
        # yet when Django imports the app config.
        from payments import kinds, ui

        kinds.register()
        ui.register()
