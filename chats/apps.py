from django.apps import AppConfig


class ChatsConfig(AppConfig):
    name = "chats"

    def ready(self) -> None:
        # Here, not at the top: models and registries load once the app registry is
        # ready (start-up order, not a cycle).
        from accounts.home import register_panel
        from chats import kinds  # noqa: F401  (registers the built-in message kinds)
        from chats.home import recent_chats

        register_panel(recent_chats)
