from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "marketing"

    def ready(self) -> None:
        # Here, not at the top: models and registries load once the app registry is
        # ready (start-up order, not a cycle).
        from chats import hooks as chat_hooks
        from marketing import kinds, services, ui
        from payments import hooks as payment_hooks

        kinds.register()
        ui.register()
        payment_hooks.on_order_status_changed(services.handle_order_status)
        chat_hooks.on_customer_text(services.handle_customer_text)
        chat_hooks.on_consent_withdrawn(services.handle_consent_withdrawn)
