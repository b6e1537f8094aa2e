"""Dashboard forms for the catalog. They parse what the merchant typed (prices in
their own language's notation) and leave every rule about products to the services."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from catalog.models import Collection, Product, ProductPhoto
from catalog.services import MAX_PHOTOS_PER_PRODUCT, PHOTO_MAX_BYTES
from core.errors import AppError
from core.money import format_money, input_money, parse_money

IMAGE_TYPES = "image/jpeg,image/png,image/webp"
STOCK_MAX = 2_147_483_647  # a PositiveIntegerField everywhere


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one ``<input type="file" multiple>`` (Django's documented
    recipe): ``cleaned_data`` holds a list, possibly empty."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": IMAGE_TYPES}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


def photos_field(*, required: bool = False, label=None) -> MultipleFileField:
    return MultipleFileField(
        label=label or _("Photos"),
        required=required,
        help_text=_(
            "JPEG, PNG or WebP, up to %(mb)s MB each; at most %(n)s photos per product. "
            "You can choose several at once; the first one is the cover."
        )
        % {"mb": PHOTO_MAX_BYTES // (1024 * 1024), "n": MAX_PHOTOS_PER_PRODUCT},
    )


class ProductForm(forms.Form):
    """Create or edit a product. Prices are typed as the viewer writes numbers
    ("19,90" in Portuguese, "19.90" in English) and cleaned to minor units."""

    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    retailer_id = forms.CharField(
        label=_("SKU"),
        max_length=100,
        help_text=Product._meta.get_field("retailer_id").help_text,
    )
    price = forms.CharField(label=_("Price"), max_length=32)
    compare_at_price = forms.CharField(
        label=_("Compare-at price"),
        max_length=32,
        required=False,
        help_text=_("The old price, shown struck through. Must be higher than the price."),
    )
    stock = forms.IntegerField(
        label=_("Stock"),
        required=False,
        min_value=0,
        max_value=STOCK_MAX,
        help_text=_("Leave empty for unlimited."),
    )
    is_active = forms.BooleanField(label=_("Visible in the shop"), required=False, initial=True)
    collections = forms.TypedMultipleChoiceField(
        label=_("Collections"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, currency: str, collections, with_photos: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.fields["collections"].choices = [(c.pk, c.name) for c in collections]
        if not self.fields["collections"].choices:
            self.fields["collections"].help_text = _("You have no collections yet.")
        example = format_money(1990, currency, symbol=False)
        for name in ("price", "compare_at_price"):
            self.fields[name].widget.attrs.update(
                {"inputmode": "decimal", "autocomplete": "off", "placeholder": example}
            )
        self.fields["price"].help_text = _("In %(currency)s, e.g. %(example)s.") % {
            "currency": currency,
            "example": example,
        }
        if with_photos:
            self.fields["photos"] = photos_field()

    @classmethod
    def initial_for(cls, product: Product) -> dict:
        return {
            "name": product.name,
            "description": product.description,
            "retailer_id": product.retailer_id,
            "price": input_money(product.price, product.currency),
            "compare_at_price": input_money(product.compare_at_price, product.currency),
            "stock": product.stock,
            "is_active": product.is_active,
            "collections": [c.pk for c in product.collections.all()],
        }

    def _money(self, name: str, *, required: bool) -> int | None:
        text = self.cleaned_data.get(name, "")
        if not text and not required:
            return None
        try:
            return parse_money(text, self.currency)
        except AppError as exc:
            raise ValidationError(str(exc.message), code=exc.code) from None

    def clean_price(self) -> int:
        return self._money("price", required=True)

    def clean_compare_at_price(self) -> int | None:
        return self._money("compare_at_price", required=False)

    def product_fields(self) -> dict:
        """The cleaned values the product services take as ``**fields``."""
        data = self.cleaned_data
        return {
            name: data[name]
            for name in (
                "name", "description", "retailer_id", "price", "compare_at_price", "stock",
                "is_active",
            )
        }  # fmt: skip


class PhotoUploadForm(forms.Form):
    photos = photos_field(required=True, label=_("Add photos"))


class PhotoAltForm(forms.Form):
    alt_text = forms.CharField(
        label=_("Alt text"),
        max_length=ProductPhoto._meta.get_field("alt_text").max_length,
        required=False,
    )


class ProductFilterForm(forms.Form):
    """The product list's search and filters (GET)."""

    ACTIVE_CHOICES = [("", _("All")), ("1", _("Visible")), ("0", _("Hidden"))]

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    collection = forms.TypedChoiceField(
        label=_("Collection"), required=False, coerce=int, empty_value=None
    )
    active = forms.ChoiceField(label=_("Visibility"), required=False, choices=ACTIVE_CHOICES)

    def __init__(self, *args, collections, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update(
            {"placeholder": _("Name or SKU"), "enterkeyhint": "search"}
        )
        self.fields["collection"].choices = [("", _("All collections"))] + [
            (c.pk, c.name) for c in collections
        ]

    def filters(self) -> dict:
        """The valid filters; an invalid one (a stale collection id) is ignored alone."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = self.cleaned_data
        active = {"1": True, "0": False}.get(data.get("active") or "")
        return {
            "q": data.get("q", "").strip(),
            "collection_id": data.get("collection"),
            "active": active,
        }

    @property
    def is_filtered(self) -> bool:
        return any(v not in ("", None) for v in self.filters().values())


class CollectionForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=Collection._meta.get_field("name").max_length
    )
