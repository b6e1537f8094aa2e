"""Pix: BR Codes (``brcode``), the provider contract (``base``), the built-in sandbox
provider and the Bacen Pix API adapter. See docs/pix.md."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from payments.pix.base import PixProvider


def get_pix_provider(name: str | None = None) -> PixProvider:
    """The provider ``settings.PIX_PROVIDER`` names ("sandbox", the default, or
    "bacen")."""
    name = name or settings.PIX_PROVIDER
    if name == "bacen":
        # Imported on first use: a site on the sandbox never loads it.
        from payments.pix.bacen import BacenPixProvider

        return BacenPixProvider.from_settings()
    raise ImproperlyConfigured(f"Unknown PIX_PROVIDER {name!r}: use 'sandbox' or 'bacen'.")
