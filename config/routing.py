"""Websocket URL patterns for the whole site (apps append theirs as they arrive)."""

websocket_urlpatterns: list = []
