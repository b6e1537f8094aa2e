from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"

    def ready(self) -> None:
        # Here, not at the top: models and registries load once the app registry is
        # ready (start-up order, not a cycle).
        from catalog import hooks as catalog_hooks
        from chats import hooks as chat_hooks
        from insights import ui
        from insights.services import attribution, rollups, touches
        from marketing import hooks as marketing_hooks
        from payments import hooks as payment_hooks

        ui.register()
        catalog_hooks.on_tracked_visit(touches.handle_tracked_visit)
        chat_hooks.on_chat_link_opened(touches.handle_chat_link_opened)
        chat_hooks.on_conversation_started(touches.record_conversation_started)
        chat_hooks.on_scheduled_sent(touches.record_offers_delivered)
        marketing_hooks.on_broadcast_created(touches.create_broadcast_campaign)
        payment_hooks.on_order_status_changed(attribution.handle_order_status)
        payment_hooks.on_order_status_changed(rollups.handle_order_status)
        chat_hooks.on_conversation_changed(rollups.handle_conversation_changed)
