"""Websocket URL patterns for the whole site (apps append theirs as they arrive)."""

from chats.routing import websocket_urlpatterns as chats_patterns

websocket_urlpatterns: list = [*chats_patterns]
