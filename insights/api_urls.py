"""Campaigns API routes, under ``businesses/<slug>/campaigns/``, the attribution
window under ``businesses/<slug>/attribution-window/``, and the reports under
``businesses/<slug>/insights/``."""

from django.urls import path

from insights import api, report_api

SHOP = "businesses/<slug:slug>/"
CAMPAIGNS = SHOP + "campaigns/"
ONE = CAMPAIGNS + "<int:campaign_id>/"
REPORTS = SHOP + "insights/"

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
    path(REPORTS + "overview/", report_api.OverviewView.as_view(), name="api_insights_overview"),
    path(
        REPORTS + "timeseries/",
        report_api.TimeseriesView.as_view(),
        name="api_insights_timeseries",
    ),
    path(
        REPORTS + "breakdowns/<str:dim>/",
        report_api.BreakdownView.as_view(),
        name="api_insights_breakdown",
    ),
    path(REPORTS + "support/", report_api.SupportView.as_view(), name="api_insights_support"),
    path(
        REPORTS + "conversations/",
        report_api.ConversationListView.as_view(),
        name="api_insights_conversations",
    ),
    path(
        REPORTS + "conversations/export/",
        report_api.ConversationExportView.as_view(),
        name="api_insights_conversations_export",
    ),
]
