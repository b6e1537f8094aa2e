from django.apps import AppConfig


class ChatsConfig(AppConfig):
    name = "chats"

    def ready(self) -> None:
        # Importing kinds registers the built-in message kinds.
        from chats import kinds, ui  # noqa: F401

        ui.register()
