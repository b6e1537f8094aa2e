"""Products, their photos and collections: what a business sells."""

from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.models import Business
from accounts.validators import validate_no_markup


class Collection(models.Model):
    """An ordered group of products shown as a section of the shop (e.g. "Breads")."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(_("name"), max_length=60, validators=[validate_no_markup])
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["business", "name"], name="collection_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(_("name"), max_length=120, validators=[validate_no_markup])
    description = models.TextField(
        _("description"), max_length=5000, blank=True, validators=[validate_no_markup]
    )
    retailer_id = models.CharField(
        _("SKU / retailer id"),
        max_length=100,
        help_text=_("Your own code for the product; unique in your shop. Used by import/export."),
    )
    price = models.PositiveBigIntegerField(_("price"), help_text=_("In minor units (centavos)."))
    compare_at_price = models.PositiveBigIntegerField(_("compare-at price"), null=True, blank=True)
    currency = models.CharField(max_length=3)
    stock = models.PositiveIntegerField(
        _("stock"), null=True, blank=True, help_text=_("Leave empty for unlimited.")
    )
    is_active = models.BooleanField(_("visible in the shop"), default=True)
    position = models.PositiveIntegerField(default=0)
    collections = models.ManyToManyField(
        Collection, through="CollectionItem", related_name="products", blank=True
    )
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["business", "retailer_id"], name="product_sku_unique"),
            models.CheckConstraint(condition=Q(price__gt=0), name="product_price_positive"),
            models.CheckConstraint(
                condition=Q(compare_at_price__isnull=True)
                | Q(compare_at_price__gt=models.F("price")),
                name="product_compare_at_above_price",
            ),
        ]
        indexes = [models.Index(fields=["business", "is_active", "position"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("product_detail", kwargs={"slug": self.business.slug, "product_id": self.pk})

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0

    @property
    def on_sale(self) -> bool:
        return self.compare_at_price is not None and self.compare_at_price > self.price

    @property
    def cover(self) -> "ProductPhoto | None":
        photos = list(self.photos.all())  # prefetched by the selectors
        return photos[0] if photos else None


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE)
    product = models.ForeignKey(Product, on_delete=models.CASCADE)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "product"], name="collection_item_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} in {self.collection_id}"


class ProductPhoto(models.Model):
    """A photo we re-encoded ourselves, with thumbnails made once at upload."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="products/", width_field="width", height_field="height")
    thumb_320 = models.ImageField(upload_to="products/320/")
    thumb_960 = models.ImageField(upload_to="products/960/")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    alt_text = models.CharField(
        _("alt text"), max_length=200, blank=True, validators=[validate_no_markup]
    )
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.alt_text or f"Photo {self.pk} of {self.product_id}"


class ProductImport(models.Model):
    """One upload of a product feed (CSV). Small files are imported during the
    request and recorded here already finished; large ones wait here for a Celery
    task, which reports its progress in ``processed_rows``. The uploaded bytes are
    kept in the database (shared by web and workers on any host) and dropped once
    the import has finished."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to start")
        RUNNING = "running", _("Importing")
        SUCCEEDED = "succeeded", _("Imported")
        FAILED = "failed", _("Not imported")

    # The allowed status changes; ``catalog.services`` checks them. ``running`` may
    # start again: a worker that died mid-import had rolled its transaction back.
    TRANSITIONS = {
        Status.PENDING: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.RUNNING, Status.SUCCEEDED, Status.FAILED},
        Status.SUCCEEDED: set(),
        Status.FAILED: set(),
    }

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="product_imports")
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    filename = models.CharField(max_length=255, blank=True)
    content = models.BinaryField(editable=False, default=bytes)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    # [{"line": 12 | None, "column": "price", "message": "…"}], as catalog.feed.FeedError
    errors = models.JSONField(default=list, blank=True)
    # Columns the file had that Conversa does not read (gtin, mpn…): shown, not an error.
    ignored_columns = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["business", "-created_at"])]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.filename or 'a file'} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
