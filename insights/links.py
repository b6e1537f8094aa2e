"""A campaign's tracked links and their QR codes.

Each link carries ``ref=<code>`` and ``utm_source``/``utm_medium``/``utm_campaign=
<code>``, which the touch recorder matches to the campaign (docs/insights.md). Links
are absolute (``settings.SITE_URL``), as they are printed and shared outside the site.
"""

import io
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.urls import reverse

from catalog.models import Product
from insights.models import Campaign

# What a QR code holds at most in byte mode with error correction M (version 40).
QR_MAX_CHARS = 2331
KINDS = ("chat", "shop", "product")


def tracking(campaign: Campaign) -> dict[str, str]:
    return {
        "ref": campaign.code,
        "utm_source": campaign.utm_source or campaign.channel,
        "utm_medium": campaign.utm_medium or "referral",
        "utm_campaign": campaign.code,
    }


def chat_link(campaign: Campaign) -> str:
    """The click-to-chat link, with the campaign's prefilled message when it has one."""
    params = {"text": campaign.link_text} if campaign.link_text else {}
    url = reverse("click_to_chat", kwargs={"slug": campaign.business.slug})
    return f"{settings.SITE_URL}{url}?{urlencode(params | tracking(campaign))}"


def shop_link(campaign: Campaign) -> str:
    url = reverse("business_profile", kwargs={"slug": campaign.business.slug})
    return f"{settings.SITE_URL}{url}?{urlencode(tracking(campaign))}"


def product_link(campaign: Campaign, product: Product) -> str:
    url = reverse(
        "product_detail", kwargs={"slug": campaign.business.slug, "product_id": product.pk}
    )
    return f"{settings.SITE_URL}{url}?{urlencode(tracking(campaign))}"


def link_for(campaign: Campaign, kind: str, product: Product | None = None) -> str | None:
    if kind == "chat":
        return chat_link(campaign)
    if kind == "shop":
        return shop_link(campaign)
    if kind == "product" and product is not None:
        return product_link(campaign, product)
    return None


def qr_code(link: str, fmt: str) -> tuple[bytes, str]:
    """The QR code of ``link`` as PNG or SVG bytes, and its content type; a white
    background (printed, and shown on dark screens). ValueError when it cannot hold
    the link."""
    if len(link) > QR_MAX_CHARS:
        raise ValueError("too long for a QR code")
    code = segno.make(link, error="m", micro=False)
    out = io.BytesIO()
    if fmt == "png":
        code.save(out, kind="png", scale=10, border=4, light="#fff")
        return out.getvalue(), "image/png"
    code.save(out, kind="svg", scale=8, border=4, light="#fff", xmldecl=True)
    return out.getvalue(), "image/svg+xml"
