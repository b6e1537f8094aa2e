"""Catalog reads. Dashboard reads take a business already returned by
``accounts.selectors.get_business_for``; public reads only ever see active
products of active businesses. Every list here runs a fixed number of queries."""

from dataclasses import dataclass, field
from typing import NamedTuple

from django.core.cache import caches
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Business
from accounts.selectors import public_version
from catalog.models import Collection, CollectionItem, Product, ProductImport, ProductPhoto
from core.errors import AppError
from core.ids import get_by_id_or_404

PHOTOS = Prefetch("photos", queryset=ProductPhoto.objects.order_by("position", "id"))
# The most products a merchant picks from when sharing one in a chat or writing an order.
PICKABLE = 200


def active_products(*, business: Business | int) -> QuerySet[Product]:
    """The products ``business`` (or the business of that id) sells now: the one
    definition of "on sale" that the shop, a chat's shared products, carts, orders and
    offers all read. Given the business itself, each product knows it without a query."""
    if isinstance(business, Business):
        return business.products.filter(is_active=True)
    return Product.objects.filter(business_id=business, is_active=True)


def list_pickable_products(*, business: Business) -> QuerySet[Product]:
    """Active products in the shop's order, as the merchant's pickers list them (share
    a product in a chat, the lines of a payment request)."""
    return active_products(business=business).order_by("position", "name")[:PICKABLE]


class Pick(NamedTuple):
    """A product as a picker lists it."""

    pk: int
    name: str


def list_picks(*, business: Business) -> list[Pick]:
    """:func:`list_pickable_products` as :class:`Pick`, kept in the process's
    ``fragments`` cache under the shop's public version as loaded with ``business``
    (``accounts.selectors.public_version``, which every catalog write changes): a page
    with the pickers (the inbox's thread) reads no product once it has seen that
    version."""
    key = "picks:" + ":".join(str(part) for part in public_version(business))
    fragments = caches["fragments"]
    picks = fragments.get(key)
    if picks is None:
        rows = list_pickable_products(business=business).values_list("pk", "name")
        picks = [Pick(pk, name) for pk, name in rows]
        fragments.set(key, picks)
    return picks


def list_products_for(
    *, business: Business, q: str = "", collection_id: int | None = None, active: bool | None = None
) -> QuerySet[Product]:
    qs = business.products.prefetch_related(PHOTOS, "collections")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(retailer_id__icontains=q))
    if collection_id:
        qs = qs.filter(collections__id=collection_id)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("position", "id")


def get_product_for(*, business: Business, product_id) -> Product:
    return get_by_id_or_404(business.products.prefetch_related(PHOTOS, "collections"), product_id)


def get_photo_for(*, product: Product, photo_id) -> ProductPhoto:
    return get_by_id_or_404(product.photos.all(), photo_id)


def list_collections_for(*, business: Business) -> QuerySet[Collection]:
    return business.collections.order_by("position", "id")


def list_collections_with_counts_for(*, business: Business) -> QuerySet[Collection]:
    """The collections in shop order, each with ``product_count`` (hidden products too)."""
    return list_collections_for(business=business).annotate(product_count=Count("products"))


def get_collection_for(*, business: Business, collection_id) -> Collection:
    return get_by_id_or_404(business.collections.all(), collection_id)


# --- Public -----------------------------------------------------------------------


def list_public_products(
    *, business: Business, collection_id: int | None = None
) -> QuerySet[Product]:
    qs = active_products(business=business).prefetch_related(PHOTOS)
    if collection_id:
        qs = qs.filter(collections__id=collection_id)
    return qs.order_by("position", "id")


@dataclass
class ShopSection:
    collection: Collection | None
    products: list[Product] = field(default_factory=list)


# A shop card shows the cover's thumbnail only. Loading just these columns also
# skips ImageField's dimension check, which runs on every loaded row that has the
# full image (measured: products with their photos load about 25 % faster).
CARD_PHOTOS = Prefetch(
    "photos",
    queryset=ProductPhoto.objects.only(
        "id", "product_id", "position", "thumb_320", "alt_text"
    ).order_by("position", "id"),
)


def get_shop_sections(*, business: Business) -> list[ShopSection]:
    """The public catalog as sections: each collection with its active products in
    order, then the products in no collection. Three queries, whatever the size.
    The photos carry only what a card shows (see ``CARD_PHOTOS``)."""
    products = {
        p.pk: p
        for p in active_products(business=business)
        .prefetch_related(CARD_PHOTOS)
        .order_by("position", "id")
    }
    items = (
        CollectionItem.objects.filter(collection__business=business, product_id__in=products.keys())
        .select_related("collection")
        .order_by("collection__position", "collection_id", "position", "id")
    )
    sections: dict[int, ShopSection] = {}
    placed: set[int] = set()
    for item in items:
        section = sections.setdefault(item.collection_id, ShopSection(item.collection))
        section.products.append(products[item.product_id])
        placed.add(item.product_id)
    rest = [p for pk, p in products.items() if pk not in placed]
    result = list(sections.values())
    if rest:
        result.append(ShopSection(None, rest))
    return result


def get_public_product(*, slug: str, product_id, with_photos: bool = True) -> Product:
    """An active product of an active business, with its business and (unless
    ``with_photos`` is false) its photos; 404 otherwise. Two queries: the product
    joined to its business, then the photos; one without the photos."""
    qs = Product.objects.filter(
        is_active=True, business__slug=slug, business__is_active=True
    ).select_related("business")
    if with_photos:
        qs = qs.prefetch_related(PHOTOS)
    return get_by_id_or_404(qs, product_id)


def list_product_photos(*, product: Product) -> QuerySet[ProductPhoto]:
    """A product's photos in order, the cover first. For a product already checked
    by a selector (public or dashboard)."""
    return product.photos.order_by("position", "id")


def list_public_collections(*, business: Business) -> QuerySet[Collection]:
    """Collections with at least one active product, each with ``product_count``
    (its active products), in the shop's order. One query."""
    return (
        business.collections.annotate(
            product_count=Count("products", filter=Q(products__is_active=True))
        )
        .filter(product_count__gt=0)
        .order_by("position", "id")
    )


# --- Imports ----------------------------------------------------------------------


def get_import_for(*, business: Business, import_id) -> ProductImport:
    """One of ``business``'s feed imports (without the stored file); 404 otherwise."""
    return get_by_id_or_404(business.product_imports.defer("content"), import_id)


def list_recent_imports_for(*, business: Business, limit: int = 5) -> QuerySet[ProductImport]:
    return business.product_imports.defer("content").order_by("-created_at", "-id")[:limit]


def refuse_short_stock(products, quantities: dict[int, int]) -> None:
    """AppError ``out_of_stock`` for the first of ``products`` whose counted stock is
    below its quantity in ``quantities`` (``{product id: quantity}``); unlimited stock
    (``None``) always suffices."""
    for product in products:
        if product.stock is not None and product.stock < quantities[product.pk]:
            raise AppError(
                _("%(product)s is out of stock: the shop has %(left)d left.")
                % {"product": product.name, "left": product.stock},
                code="out_of_stock",
            )


def check_stock(*, business_id: int, quantities: dict[int, int]) -> None:
    """Whether ``business_id``'s counted stock covers ``quantities`` now (no lock: the
    payment checks before charging; ``services.take_stock`` checks again under locks)."""
    products = Product.objects.filter(
        business_id=business_id, pk__in=quantities, stock__isnull=False
    ).only("pk", "name", "stock")  # what refuse_short_stock reads
    refuse_short_stock(products, quantities)
