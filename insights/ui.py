"""What insights adds to lower apps' pages (registered in ``InsightsConfig.ready``):
the dashboard's Campaigns entry, for the whole staff (agents see counts only), and
Insights (the reports; agents land on Support)."""

from django.utils.translation import gettext_lazy as _

from accounts.dashboard import register_nav


def register() -> None:
    register_nav(
        section="campaigns",
        label=_("Campaigns"),
        icon="flag",
        order=80,
        url_name="campaigns",
        min_role="agent",
    )
    register_nav(
        section="insights",
        label=_("Insights"),
        icon="chart-column",
        order=85,
        url_name="insights_overview",
        min_role="agent",
    )
