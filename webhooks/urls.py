from django.urls import path

from webhooks import views

BASE = "dashboard/<slug:slug>/integrations/"
ONE = BASE + "<int:endpoint_id>/"

urlpatterns = [
    path(BASE, views.endpoints, name="webhook_endpoints"),
    path(BASE + "new/", views.endpoint_create, name="webhook_endpoint_create"),
    path(ONE, views.endpoint_detail, name="webhook_endpoint"),
    path(ONE + "edit/", views.endpoint_edit, name="webhook_endpoint_edit"),
    path(ONE + "enable/", views.endpoint_enable, name="webhook_endpoint_enable"),
    path(ONE + "rotate/", views.endpoint_rotate, name="webhook_endpoint_rotate"),
    path(ONE + "test/", views.endpoint_test, name="webhook_endpoint_test"),
    path(ONE + "delete/", views.endpoint_delete, name="webhook_endpoint_delete"),
    path(
        ONE + "deliveries/<int:delivery_id>/resend/", views.delivery_resend, name="webhook_resend"
    ),
]
