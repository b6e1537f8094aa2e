"""Marketing API routes, under ``businesses/<slug>/``: broadcasts, follow-up rules and
satisfaction ratings."""

from django.urls import path

from marketing import api

SHOP = "businesses/<slug:slug>/"
BROADCAST = SHOP + "broadcasts/<int:broadcast_id>/"

urlpatterns = [
    path(SHOP + "broadcasts/", api.BroadcastListView.as_view(), name="api_broadcasts"),
    path(BROADCAST, api.BroadcastDetailView.as_view(), name="api_broadcast_detail"),
    path(BROADCAST + "cancel/", api.BroadcastCancelView.as_view(), name="api_broadcast_cancel"),
    path(SHOP + "follow-up-rules/", api.RuleListView.as_view(), name="api_followup_rules"),
    path(
        SHOP + "follow-up-rules/<int:rule_id>/",
        api.RuleDetailView.as_view(),
        name="api_followup_rule_detail",
    ),
    path(SHOP + "ratings/", api.RatingListView.as_view(), name="api_ratings"),
]
