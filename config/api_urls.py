"""The REST API, version 1. Each app contributes its ``api_urls``."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("catalog.api_urls")),
    path("", include("chats.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("marketing.api_urls")),
    path("", include("insights.api_urls")),
    path("", include("webhooks.api_urls")),
]
