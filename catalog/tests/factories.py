"""Catalog helpers for tests: products, photos and feed files made the way a merchant
makes them (through the services). Users and businesses: ``accounts/tests/factories.py``;
uploads: ``core/tests/uploads.py``."""

from catalog import services
from catalog.models import Product, ProductPhoto
from core.tests.uploads import png_upload


def make_product(actor, business, **fields) -> Product:
    """A product of ``business``: "Bread n", SKU "SKU-n", 9.90 unless ``fields`` say
    otherwise (``n`` counts the products in the database)."""
    n = Product.objects.count() + 1
    defaults = {"name": f"Bread {n}", "retailer_id": f"SKU-{n}", "price": 990}
    return services.create_product(actor=actor, business=business, **(defaults | fields))


def add_photos(actor, product, count: int = 1, *, size=(80, 60), **fields) -> list[ProductPhoto]:
    """``count`` PNG photos of ``size`` added to ``product`` in one upload."""
    uploads = [png_upload(size, f"p{product.pk}-{i}.png") for i in range(count)]
    return services.add_product_photos(actor=actor, product=product, uploads=uploads, **fields)


def feed_file(*lines: str, header: str = "id,title,price", encoding: str = "utf-8") -> bytes:
    """A CSV product feed: ``header``, then ``lines``."""
    return "\n".join([header, *lines]).encode(encoding)
