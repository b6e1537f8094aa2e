from django.urls import path

from marketing import views

urlpatterns = [
    path("dashboard/<slug:slug>/follow-ups/", views.followups, name="followups"),
    path(
        "dashboard/<slug:slug>/follow-ups/<int:rule_id>/", views.followup_edit, name="followup_edit"
    ),
    path(
        "dashboard/<slug:slug>/follow-ups/<int:rule_id>/delete/",
        views.followup_delete,
        name="followup_delete",
    ),
    path("dashboard/<slug:slug>/preview/", views.template_preview, name="template_preview"),
    path("dashboard/<slug:slug>/broadcasts/", views.broadcasts, name="broadcasts"),
    path(
        "dashboard/<slug:slug>/broadcasts/<int:broadcast_id>/",
        views.broadcast_detail,
        name="broadcast_detail",
    ),
    path(
        "dashboard/<slug:slug>/broadcasts/<int:broadcast_id>/cancel/",
        views.broadcast_cancel,
        name="broadcast_cancel",
    ),
    path(
        "dashboard/<slug:slug>/broadcasts/<int:broadcast_id>/progress/",
        views.broadcast_progress,
        name="broadcast_progress",
    ),
    path("followups/<int:message_id>/rate/", views.followup_rate, name="followup_rate"),
    path("offers/stop/<str:token>/", views.offers_optout, name="offers_optout"),
]
