from django.contrib import admin
from django.db import transaction

from catalog.models import Collection, CollectionItem, Product, ProductPhoto
from catalog.services import bump_catalog_version


class BumpsCatalogVersion:
    """The admin writes rows directly, not through the services, so it bumps the
    catalog version itself, first and in the admin's transaction like a service,
    for the business the object is in (and the one it was in, when an operator
    moves it): the cached shop and product pages must never outlive an edit."""

    def save_model(self, request, obj, form, change):
        for business_id in sorted({obj.business_id, form.initial.get("business")} - {None}):
            bump_catalog_version(business_id)
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        bump_catalog_version(obj.business_id)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The bulk delete action, unlike the other two, runs outside a transaction.
        with transaction.atomic():
            for business_id in sorted(set(queryset.values_list("business_id", flat=True))):
                bump_catalog_version(business_id)
            super().delete_queryset(request, queryset)


class ProductPhotoInline(admin.TabularInline):
    model = ProductPhoto
    extra = 0
    fields = ["image", "alt_text", "position", "width", "height"]
    readonly_fields = ["image", "width", "height"]


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    extra = 0
    raw_id_fields = ["collection", "product"]


@admin.register(Product)
class ProductAdmin(BumpsCatalogVersion, admin.ModelAdmin):
    list_display = ["name", "business", "retailer_id", "price", "currency", "stock", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["name", "retailer_id", "business__name", "business__slug"]
    list_select_related = ["business"]
    raw_id_fields = ["business"]
    inlines = [ProductPhotoInline, CollectionItemInline]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Collection)
class CollectionAdmin(BumpsCatalogVersion, admin.ModelAdmin):
    list_display = ["name", "business", "position"]
    search_fields = ["name", "business__name"]
    list_select_related = ["business"]
    raw_id_fields = ["business"]
    inlines = [CollectionItemInline]
