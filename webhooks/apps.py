from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        # Here, not at the top: models and registries load once the app registry is
        # ready (start-up order, not a cycle).
        from core import domain_events
        from payments import hooks as payment_hooks
        from webhooks import ui
        from webhooks.services import capture

        ui.register()
        domain_events.on_event(capture.record_events)
        payment_hooks.on_order_status_changed(capture.handle_order_status)
