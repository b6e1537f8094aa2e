"""Small input and output serializers for the catalog API, one per shape.

Input serializers only parse and bound what a client sends; the rules of the catalog
(SKU unique per shop, compare-at above price, collections of the same shop, photos
that really are images) live in :mod:`catalog.services`. Money crosses the API as
an integer number of minor units (``1990`` is R$ 19,90) plus the currency, never as
a float; a formatted string is added for display only.
"""

import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Collection, Product, ProductPhoto
from core.money import MAX_MINOR, format_money

MAX_STOCK = 2_147_483_647  # PositiveIntegerField's range on every database we run
MAX_IDS = 200  # collection/photo ids in one request; far above any real shop

_DIGITS = re.compile(r"\s*-?\d{1,20}\s*")


# --- Fields -----------------------------------------------------------------------


class MinorUnitsField(serializers.IntegerField):
    """An amount in minor units: a JSON integer (or, from a form, a string of digits).

    Floats are refused even when they look whole (``19.9`` or ``1990.0``): a client
    that sends them is converting money through floating point somewhere.
    """

    default_error_messages = {
        "invalid": _("Send a whole number of minor units (1990 for 19.90), not a decimal."),
        "min_value": _("The price must be above zero."),
        "max_value": _("That amount is too large."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_MINOR)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and _DIGITS.fullmatch(data))
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


def _absolute(request, file) -> str | None:
    if not file:
        return None
    return request.build_absolute_uri(file.url) if request else file.url


# --- Output -----------------------------------------------------------------------


class PhotoSerializer(serializers.ModelSerializer):
    """A product photo: the re-encoded image (at most 2048 px) and two thumbnails,
    all WebP, as absolute URLs."""

    image = serializers.SerializerMethodField()
    thumb_320 = serializers.SerializerMethodField()
    thumb_960 = serializers.SerializerMethodField()

    class Meta:
        model = ProductPhoto
        fields = [
            "id", "image", "thumb_320", "thumb_960", "width", "height", "alt_text", "position",
        ]  # fmt: skip

    def get_image(self, obj) -> str | None:
        return _absolute(self.context.get("request"), obj.image)

    def get_thumb_320(self, obj) -> str | None:
        return _absolute(self.context.get("request"), obj.thumb_320)

    def get_thumb_960(self, obj) -> str | None:
        return _absolute(self.context.get("request"), obj.thumb_960)


class PublicProductSerializer(serializers.ModelSerializer):
    """A product as a visitor sees it. Prices in minor units of ``currency``;
    ``price_display`` is the same amount formatted for the request's language."""

    price = serializers.IntegerField(help_text=_("In minor units of the currency (1990 = 19.90)."))
    compare_at_price = serializers.IntegerField(
        allow_null=True, help_text=_("The old price, shown struck through; minor units.")
    )
    price_display = serializers.SerializerMethodField()
    compare_at_price_display = serializers.SerializerMethodField()
    in_stock = serializers.BooleanField()
    on_sale = serializers.BooleanField()
    url = serializers.SerializerMethodField()
    photos = PhotoSerializer(many=True)

    class Meta:
        model = Product
        fields = [
            "id", "name", "description", "retailer_id", "price", "compare_at_price", "currency",
            "price_display", "compare_at_price_display", "in_stock", "on_sale", "url", "photos",
        ]  # fmt: skip
        read_only_fields = fields

    def get_price_display(self, obj) -> str:
        return format_money(obj.price, obj.currency)

    def get_compare_at_price_display(self, obj) -> str | None:
        if obj.compare_at_price is None:
            return None
        return format_money(obj.compare_at_price, obj.currency)

    def get_url(self, obj) -> str:
        """The public product page."""
        request = self.context.get("request")
        path = obj.get_absolute_url()
        return request.build_absolute_uri(path) if request else path


class ProductSerializer(PublicProductSerializer):
    """A product as its shop's members see it: hidden ones too, with stock and order."""

    collection_ids = serializers.SerializerMethodField()

    class Meta(PublicProductSerializer.Meta):
        fields = [
            *PublicProductSerializer.Meta.fields,
            "stock", "is_active", "position", "collection_ids", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_collection_ids(self, obj) -> list[int]:
        return sorted(c.pk for c in obj.collections.all())  # prefetched by the selectors


class CollectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Collection
        fields = ["id", "name", "position"]
        read_only_fields = fields


class PublicCollectionSerializer(serializers.ModelSerializer):
    product_count = serializers.IntegerField(help_text=_("Visible products in the collection."))

    class Meta:
        model = Collection
        fields = ["id", "name", "position", "product_count"]
        read_only_fields = fields


# --- Input ------------------------------------------------------------------------


class ProductInputSerializer(serializers.Serializer):
    """POST creates (``name``, ``retailer_id`` and ``price`` required); PATCH parses
    the same fields with ``partial=True`` and changes only those sent."""

    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    retailer_id = serializers.CharField(
        max_length=100, help_text=_("Your SKU for the product; unique in the shop.")
    )
    price = MinorUnitsField(help_text=_("Minor units of the shop's currency: 1990 = 19.90."))
    compare_at_price = MinorUnitsField(
        required=False,
        allow_null=True,
        help_text=_("Optional old price in minor units; must be higher than the price."),
    )
    stock = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_STOCK,
        help_text=_("Units in stock; null for unlimited."),
    )
    # A default, so a form-encoded create that omits the box does not hide the product.
    is_active = serializers.BooleanField(required=False, default=True)
    collection_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=MAX_IDS,
        help_text=_("The product's collections (ids of this shop's collections)."),
    )


class ProductFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=100, help_text=_("Search name and SKU."))
    active = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("true: visible only; false: hidden only; absent: all."),
    )
    collection = serializers.IntegerField(
        required=False, min_value=1, help_text=_("Only products in this collection.")
    )


class PublicProductFilterSerializer(serializers.Serializer):
    collection = serializers.IntegerField(
        required=False, min_value=1, help_text=_("Only products in this collection.")
    )


class PhotoUploadInputSerializer(serializers.Serializer):
    photos = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        help_text=_("One or several JPEG, PNG or WebP files (multipart, repeat the field)."),
    )
    alt_text = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Describes the photos for screen readers; defaults to the product name."),
    )


class PhotoUpdateInputSerializer(serializers.Serializer):
    alt_text = serializers.CharField(max_length=200, allow_blank=True)


class PhotoReorderInputSerializer(serializers.Serializer):
    photo_ids = serializers.ListField(
        child=serializers.IntegerField(),
        max_length=MAX_IDS,
        help_text=_("Every photo id of the product, in the new order; the first is the cover."),
    )


class CollectionInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)


class CollectionReorderInputSerializer(serializers.Serializer):
    collection_ids = serializers.ListField(
        child=serializers.IntegerField(),
        max_length=MAX_IDS,
        help_text=_("Every collection id of the shop, in the new order."),
    )


class CollectionProductsReorderInputSerializer(serializers.Serializer):
    product_ids = serializers.ListField(
        child=serializers.IntegerField(),
        max_length=10_000,
        help_text=_("Every product id in the collection, in the new order."),
    )
