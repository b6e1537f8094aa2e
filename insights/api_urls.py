"""Campaigns API routes, under ``businesses/<slug>/campaigns/``, and the attribution
window under ``businesses/<slug>/attribution-window/``."""

from django.urls import path

from insights import api

SHOP = "businesses/<slug:slug>/"
CAMPAIGNS = SHOP + "campaigns/"
ONE = CAMPAIGNS + "<int:campaign_id>/"

urlpatterns = [
    path(CAMPAIGNS, api.CampaignListView.as_view(), name="api_campaigns"),
    path(
        CAMPAIGNS + "spend-import/", api.SpendImportView.as_view(), name="api_campaign_spend_import"
    ),
    path(ONE, api.CampaignDetailView.as_view(), name="api_campaign_detail"),
    path(ONE + "archive/", api.CampaignArchiveView.as_view(), name="api_campaign_archive"),
    path(ONE + "unarchive/", api.CampaignUnarchiveView.as_view(), name="api_campaign_unarchive"),
    path(ONE + "rename/", api.CampaignRenameView.as_view(), name="api_campaign_rename"),
    path(ONE + "merge/", api.CampaignMergeView.as_view(), name="api_campaign_merge"),
    path(ONE + "links/", api.CampaignLinksView.as_view(), name="api_campaign_links"),
    path(ONE + "spend/", api.SpendLineListView.as_view(), name="api_campaign_spend"),
    path(
        ONE + "spend/<int:line_id>/",
        api.SpendLineDetailView.as_view(),
        name="api_campaign_spend_line",
    ),
    path(
        SHOP + "attribution-window/",
        api.AttributionWindowView.as_view(),
        name="api_attribution_window",
    ),
]
