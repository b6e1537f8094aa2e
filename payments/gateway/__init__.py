"""Card gateways: ``get_gateway()`` returns the one ``settings.PAYMENT_GATEWAY`` names
("sandbox", the default, or "stripe"). See docs/payments.md, "Gateway and cards"."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from payments.gateway.base import CardDetails, ChargeResult, Gateway, TokenizedCard
from payments.gateway.sandbox import SandboxGateway

__all__ = ["CardDetails", "ChargeResult", "Gateway", "TokenizedCard", "get_gateway"]


def get_gateway(name: str | None = None) -> Gateway:
    """The configured gateway, or the one called ``name`` (a saved card's
    ``Card.gateway``, so a card keeps working with the gateway that issued its token)."""
    name = name or settings.PAYMENT_GATEWAY
    if name == "sandbox":
        return SandboxGateway()
    if name == "stripe":
        # Imported on first use, not at the top: start-up cost (the Stripe SDK is
        # large, and a site on the sandbox never needs it).
        from payments.gateway.stripe import StripeGateway

        return StripeGateway(api_key=settings.STRIPE_SECRET_KEY)
    raise ImproperlyConfigured(f"Unknown PAYMENT_GATEWAY {name!r}: use 'sandbox' or 'stripe'.")
