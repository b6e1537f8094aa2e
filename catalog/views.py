"""Catalog pages: the public shop and product pages, and the merchant's catalog
dashboard. Thin: parse, authorize through a selector, call one service, render."""

from django.shortcuts import render

from accounts.selectors import get_public_business
from accounts.views import profile_context
from catalog import selectors

# --- Public -----------------------------------------------------------------------


def shop(request, slug: str):
    """The public profile with the catalog: collections as sections, then the rest."""
    business = get_public_business(slug=slug)
    context = profile_context(request, business)
    context["sections"] = selectors.get_shop_sections(business=business)
    return render(request, "catalog/shop.html", context)


def product_detail(request, slug: str, product_id: int):
    product = selectors.get_public_product(slug=slug, product_id=product_id)
    business = product.business
    photos = list(product.photos.all())
    return render(
        request,
        "catalog/product_detail.html",
        {
            "business": business,
            "product": product,
            "photos": photos,
            "ld": _product_ld(request, product, photos),
        },
    )


def _product_ld(request, product, photos) -> dict:
    from core.money import from_minor

    ld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "description": product.description,
        "sku": product.retailer_id,
        "url": request.build_absolute_uri(product.get_absolute_url()),
        "brand": {"@type": "Brand", "name": product.business.name},
        "offers": {
            "@type": "Offer",
            "price": str(from_minor(product.price, product.currency)),
            "priceCurrency": product.currency,
            "availability": "https://schema.org/InStock"
            if product.in_stock
            else "https://schema.org/OutOfStock",
            "url": request.build_absolute_uri(product.get_absolute_url()),
            "seller": {"@type": "Organization", "name": product.business.name},
        },
    }
    if photos:
        ld["image"] = [request.build_absolute_uri(p.image.url) for p in photos]
    return ld
