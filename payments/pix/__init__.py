"""Pix: BR Codes (``brcode``), the provider contract (``base``), the built-in sandbox
provider and the Bacen Pix API adapter. See docs/pix.md."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from payments.pix.base import PixProvider

__all__ = ["PixProvider", "get_pix_provider", "ledger_gateway", "provider_of"]


def get_pix_provider(name: str | None = None) -> PixProvider:
    """The configured Pix provider (``settings.PIX_PROVIDER``: "sandbox", the default,
    or "bacen"), or the one called ``name`` (a charge's ``PixCharge.provider``)."""
    name = name or settings.PIX_PROVIDER
    if name == "sandbox":
        from payments.pix.sandbox import SandboxPixProvider

        return SandboxPixProvider()
    if name == "bacen":
        # Imported on first use: a site on the sandbox never loads it.
        from payments.pix.bacen import BacenPixProvider

        return BacenPixProvider.from_settings()
    raise ImproperlyConfigured(f"Unknown PIX_PROVIDER {name!r}: use 'sandbox' or 'bacen'.")


def ledger_gateway(provider: str) -> str:
    """The ``Payment.gateway`` (and ledger clearing account) of a provider's Pix:
    ``pix_<name>``, apart from the card gateway of the same name."""
    return f"pix_{provider}"


def provider_of(gateway: str) -> str:
    """The provider name back from a Pix payment's ``gateway``."""
    return gateway.removeprefix("pix_")
