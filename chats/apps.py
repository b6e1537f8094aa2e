from django.apps import AppConfig


class ChatsConfig(AppConfig):
    name = "chats"

    def ready(self) -> None:
        from chats import kinds  # noqa: F401  (registers the built-in message kinds)
