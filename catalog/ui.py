"""What catalog adds to lower apps' pages (``core.slots``, registered in
``CatalogConfig.ready``): the dashboard's catalog entry."""

from django.utils.translation import gettext_lazy as _

from accounts.dashboard import register_nav


def register() -> None:
    register_nav(
        section="catalog",
        label=_("Catalog"),
        icon="package",
        order=30,
        url_name="catalog_products",
    )
