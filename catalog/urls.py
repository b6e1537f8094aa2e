from django.urls import path

from catalog import views

urlpatterns = [
    path("s/<slug:slug>/", views.shop, name="business_profile"),
    path("s/<slug:slug>/p/<int:product_id>/", views.product_detail, name="product_detail"),
    # Dashboard
    path("dashboard/<slug:slug>/catalog/", views.catalog_products, name="catalog_products"),
    path(
        "dashboard/<slug:slug>/catalog/new/",
        views.catalog_product_create,
        name="catalog_product_create",
    ),
    path(
        "dashboard/<slug:slug>/catalog/<int:product_id>/",
        views.catalog_product_edit,
        name="catalog_product_edit",
    ),
    path(
        "dashboard/<slug:slug>/catalog/<int:product_id>/delete/",
        views.catalog_product_delete,
        name="catalog_product_delete",
    ),
    path(
        "dashboard/<slug:slug>/catalog/<int:product_id>/visible/",
        views.catalog_product_toggle,
        {"switch": "visible"},
        name="catalog_product_visible",
    ),
    path(
        "dashboard/<slug:slug>/catalog/<int:product_id>/in-stock/",
        views.catalog_product_toggle,
        {"switch": "in-stock"},
        name="catalog_product_in_stock",
    ),
    path(
        "dashboard/<slug:slug>/catalog/<int:product_id>/photos/",
        views.catalog_photos_add,
        name="catalog_photos_add",
    ),
    path(
        "dashboard/<slug:slug>/catalog/<int:product_id>/photos/<int:photo_id>/",
        views.catalog_photo_update,
        name="catalog_photo_update",
    ),
    path(
        "dashboard/<slug:slug>/catalog/<int:product_id>/photos/<int:photo_id>/move/",
        views.catalog_photo_move,
        name="catalog_photo_move",
    ),
    path(
        "dashboard/<slug:slug>/catalog/<int:product_id>/photos/<int:photo_id>/delete/",
        views.catalog_photo_delete,
        name="catalog_photo_delete",
    ),
    path(
        "dashboard/<slug:slug>/catalog/collections/",
        views.catalog_collections,
        name="catalog_collections",
    ),
    path(
        "dashboard/<slug:slug>/catalog/collections/<int:collection_id>/rename/",
        views.catalog_collection_rename,
        name="catalog_collection_rename",
    ),
    path(
        "dashboard/<slug:slug>/catalog/collections/<int:collection_id>/move/",
        views.catalog_collection_move,
        name="catalog_collection_move",
    ),
    path(
        "dashboard/<slug:slug>/catalog/collections/<int:collection_id>/delete/",
        views.catalog_collection_delete,
        name="catalog_collection_delete",
    ),
    # Import and export (product feeds)
    path("dashboard/<slug:slug>/catalog/export.csv", views.catalog_export, name="catalog_export"),
    path("dashboard/<slug:slug>/catalog/import/", views.catalog_import, name="catalog_import"),
    path(
        "dashboard/<slug:slug>/catalog/import/<int:import_id>/",
        views.catalog_import_status,
        name="catalog_import_status",
    ),
]
