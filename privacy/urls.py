from django.urls import path

from privacy import views

urlpatterns = [
    path("privacy/", views.privacy_policy, name="privacy_policy"),
    path("account/privacy/", views.privacy_home, name="privacy_home"),
    path("account/privacy/export/", views.export_request, name="privacy_export"),
    path(
        "account/privacy/export/<int:request_id>/status/",
        views.export_status,
        name="privacy_export_status",
    ),
    path(
        "account/privacy/export/<int:request_id>/download/",
        views.export_download,
        name="privacy_export_download",
    ),
    path("account/privacy/delete/", views.delete_account, name="privacy_delete"),
    path("dashboard/<slug:slug>/privacy/", views.business_audit, name="privacy_business_audit"),
    path(
        "dashboard/<slug:slug>/privacy/contacts/<int:contact_id>/export/",
        views.contact_export,
        name="privacy_contact_export",
    ),
    path(
        "dashboard/<slug:slug>/privacy/contacts/<int:contact_id>/erase/",
        views.contact_erase,
        name="privacy_contact_erase",
    ),
    path(
        "dashboard/<slug:slug>/privacy/exports/<int:request_id>/download/",
        views.contact_export_download,
        name="privacy_contact_export_download",
    ),
]
