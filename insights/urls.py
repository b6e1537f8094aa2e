from django.urls import path

from insights import report_views, support_views, views

BASE = "dashboard/<slug:slug>/campaigns/"
ONE = BASE + "<int:campaign_id>/"
REPORTS = "dashboard/<slug:slug>/insights/"

urlpatterns = [
    path(BASE, views.campaigns, name="campaigns"),
    path(BASE + "new/", views.campaign_create, name="campaign_create"),
    path(BASE + "spend-import/", views.spend_import, name="campaign_spend_import"),
    path(BASE + "attribution-window/", views.attribution_window, name="attribution_window"),
    path(ONE, views.campaign_detail, name="campaign_detail"),
    path(ONE + "edit/", views.campaign_edit, name="campaign_edit"),
    path(ONE + "archive/", views.campaign_archive, name="campaign_archive"),
    path(ONE + "rename/", views.campaign_rename, name="campaign_rename"),
    path(ONE + "merge/", views.campaign_merge, name="campaign_merge"),
    path(ONE + "qr/", views.campaign_qr, name="campaign_qr"),
    path(ONE + "card/", views.campaign_card, name="campaign_card"),
    path(ONE + "spend/", views.spend_add, name="campaign_spend_add"),
    path(ONE + "spend/<int:line_id>/delete/", views.spend_delete, name="campaign_spend_delete"),
    # Reports (docs/insights.md, "Reports")
    path(REPORTS, report_views.overview, name="insights_overview"),
    path(REPORTS + "sales/", report_views.sales, name="insights_sales"),
    path(REPORTS + "conversations/", report_views.conversations, name="insights_conversations"),
    path(
        REPORTS + "conversations.csv",
        report_views.conversations_csv,
        name="insights_conversations_csv",
    ),
    path(REPORTS + "export/<str:table>.csv", report_views.export, name="insights_export"),
]

# Support, Offers and Products (insights/support_views.py).
urlpatterns += [
    path(REPORTS + "support/", support_views.support_report, name="insights_support"),
    path(REPORTS + "offers/", support_views.offers_report, name="insights_offers"),
    path(REPORTS + "products/", support_views.products_report, name="insights_products"),
]
