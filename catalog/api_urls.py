"""Catalog API routes: public reads of a shop's catalog, and the members' catalog
under ``businesses/<slug>/catalog/``."""

from django.urls import path

from catalog import api

SHOP = "businesses/<slug:slug>/"
CATALOG = SHOP + "catalog/"

urlpatterns = [
    # Public
    path(SHOP + "products/", api.PublicProductListView.as_view(), name="api_public_product_list"),
    path(
        SHOP + "products/<int:product_id>/",
        api.PublicProductDetailView.as_view(),
        name="api_public_product_detail",
    ),
    path(
        SHOP + "collections/",
        api.PublicCollectionListView.as_view(),
        name="api_public_collection_list",
    ),
    # Members
    path(CATALOG + "products/", api.ProductListView.as_view(), name="api_product_list"),
    path(
        CATALOG + "products/<int:product_id>/",
        api.ProductDetailView.as_view(),
        name="api_product_detail",
    ),
    path(
        CATALOG + "products/<int:product_id>/photos/",
        api.PhotoListView.as_view(),
        name="api_photo_list",
    ),
    path(
        CATALOG + "products/<int:product_id>/photos/reorder/",
        api.PhotoReorderView.as_view(),
        name="api_photo_reorder",
    ),
    path(
        CATALOG + "products/<int:product_id>/photos/<int:photo_id>/",
        api.PhotoDetailView.as_view(),
        name="api_photo_detail",
    ),
    path(CATALOG + "collections/", api.CollectionListView.as_view(), name="api_collection_list"),
    path(
        CATALOG + "collections/reorder/",
        api.CollectionReorderView.as_view(),
        name="api_collection_reorder",
    ),
    path(
        CATALOG + "collections/<int:collection_id>/",
        api.CollectionDetailView.as_view(),
        name="api_collection_detail",
    ),
    path(
        CATALOG + "collections/<int:collection_id>/products/reorder/",
        api.CollectionProductsReorderView.as_view(),
        name="api_collection_products_reorder",
    ),
]
