from django.urls import path

from accounts import api

urlpatterns = [
    path("me", api.MeView.as_view(), name="api_me"),
    path("businesses/", api.BusinessListView.as_view(), name="api_business_list"),
    path("businesses/<slug:slug>/", api.BusinessDetailView.as_view(), name="api_business_detail"),
    path("businesses/<slug:slug>/members/", api.MemberListView.as_view(), name="api_member_list"),
    path(
        "businesses/<slug:slug>/members/<int:membership_id>/",
        api.MemberDetailView.as_view(),
        name="api_member_detail",
    ),
    path(
        "businesses/<slug:slug>/invitations/",
        api.InvitationListView.as_view(),
        name="api_invitation_list",
    ),
]
