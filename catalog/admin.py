from django.contrib import admin

from catalog.models import Collection, CollectionItem, Product, ProductPhoto


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
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "business", "retailer_id", "price", "currency", "stock", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["name", "retailer_id", "business__name", "business__slug"]
    list_select_related = ["business"]
    raw_id_fields = ["business"]
    inlines = [ProductPhotoInline, CollectionItemInline]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "business", "position"]
    search_fields = ["name", "business__name"]
    list_select_related = ["business"]
    raw_id_fields = ["business"]
    inlines = [CollectionItemInline]
