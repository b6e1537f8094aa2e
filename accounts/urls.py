from django.urls import path

from accounts import views

urlpatterns = [
    path("s/", views.business_directory, name="business_directory"),
    path("account/profile/", views.account_profile, name="account_profile"),
    path("account/tokens/", views.api_tokens, name="api_tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("invitations/<str:key>/", views.invitation_accept, name="invitation_accept"),
    path("dashboard/", views.dashboard_home, name="dashboard_home"),
    path("dashboard/new/", views.business_create, name="business_create"),
    path("dashboard/switch/", views.dashboard_switch, name="dashboard_switch"),
    path("dashboard/<slug:slug>/", views.dashboard, name="dashboard"),
    path("dashboard/<slug:slug>/settings/", views.business_settings, name="business_settings"),
    path("dashboard/<slug:slug>/settings/logo/", views.business_logo, name="business_logo"),
    path("dashboard/<slug:slug>/settings/hours/", views.business_hours, name="business_hours"),
    path("dashboard/<slug:slug>/team/", views.team, name="team"),
    path(
        "dashboard/<slug:slug>/team/<int:membership_id>/role/",
        views.member_role,
        name="member_role",
    ),
    path(
        "dashboard/<slug:slug>/team/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path(
        "dashboard/<slug:slug>/team/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
]
