from django.apps import AppConfig


class ChatsConfig(AppConfig):
    name = "chats"

    def ready(self) -> None:
        # Here, not at the top: models and registries load once the app registry is
        # ready (start-up order, not a cycle). Importing kinds registers the built-in
        # message kinds.
        from chats import kinds, ui  # noqa: F401

        ui.register()
