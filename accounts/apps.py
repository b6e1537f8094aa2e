from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Imported here, not at the top: Django imports the app config before the
        # models are loaded.
        from accounts.dashboard import register_nav

        # The dashboard's navigation, with the other apps' entries between these
        # (their ``ready()``): the order numbers are the places, ten apart.
        register_nav(
            section="overview",
            label=_("Overview"),
            icon="layout-dashboard",
            order=10,
            url_name="dashboard",
        )
        register_nav(
            section="team",
            label=_("Team"),
            icon="users",
            order=90,
            url_name="team",
            min_role="admin",
        )
        register_nav(
            section="settings",
            label=_("Settings"),
            icon="settings",
            order=100,
            url_name="business_settings",
            min_role="admin",
        )
