"""Webhooks API routes, under ``businesses/<slug>/webhooks/``."""

from django.urls import path

from webhooks import api

BASE = "businesses/<slug:slug>/webhooks/"
ONE = BASE + "endpoints/<int:endpoint_id>/"

urlpatterns = [
    path(BASE + "event-types/", api.EventTypesView.as_view(), name="api_webhook_event_types"),
    path(BASE + "endpoints/", api.EndpointListView.as_view(), name="api_webhook_endpoints"),
    path(ONE, api.EndpointDetailView.as_view(), name="api_webhook_endpoint"),
    path(ONE + "enable/", api.EndpointEnableView.as_view(), name="api_webhook_endpoint_enable"),
    path(ONE + "disable/", api.EndpointDisableView.as_view(), name="api_webhook_endpoint_disable"),
    path(ONE + "rotate-secret/", api.RotateSecretView.as_view(), name="api_webhook_rotate"),
    path(ONE + "test/", api.TestEventView.as_view(), name="api_webhook_test"),
    path(ONE + "deliveries/", api.DeliveryListView.as_view(), name="api_webhook_deliveries"),
    path(
        ONE + "deliveries/<int:delivery_id>/resend/",
        api.ResendView.as_view(),
        name="api_webhook_resend",
    ),
]
