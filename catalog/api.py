"""REST endpoints for the catalog. Thin: parse, authorize through the selectors, call
one service, serialize.

Public endpoints (no sign-in) show only active products of active businesses.
Member endpoints live under ``/businesses/<slug>/catalog/``: the business is loaded
with :func:`accounts.selectors.get_business_for` at the role the operation needs
(agents read, admins and owners write), then every object through a selector
scoped to that business, so another shop's id is a 404 like a missing one.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Membership
from accounts.selectors import get_business_for, get_public_business
from catalog import selectors, services
from catalog.serializers import (
    CollectionInputSerializer,
    CollectionProductsReorderInputSerializer,
    CollectionReorderInputSerializer,
    CollectionSerializer,
    PhotoReorderInputSerializer,
    PhotoSerializer,
    PhotoUpdateInputSerializer,
    PhotoUploadInputSerializer,
    ProductFilterSerializer,
    ProductInputSerializer,
    ProductSerializer,
    PublicCollectionSerializer,
    PublicProductFilterSerializer,
    PublicProductSerializer,
)
from core.api import input_data, query_data

ROLE = Membership.Role
PUBLIC = ["catalog (public)"]
MEMBERS = ["catalog"]
DELETED = {204: OpenApiResponse(description=_("Deleted."))}


class _Paginated:
    """Page-number pagination (``?page=``, settings' page size) for an APIView's GET.
    ``pagination_class`` is also what drf-spectacular reads to describe the envelope."""

    pagination_class = PageNumberPagination

    def paginated(self, request, queryset, serializer_class):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        data = serializer_class(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


def _product_out(request, business, product_id) -> dict:
    """A product freshly read with its photos and collections."""
    product = selectors.get_product_for(business=business, product_id=product_id)
    return ProductSerializer(product, context={"request": request}).data


# --- Public -----------------------------------------------------------------------


class PublicProductListView(_Paginated, APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=PUBLIC,
        summary="List a shop's products",
        description="Visible products of an active shop, in the shop's order, with photos.",
        parameters=[PublicProductFilterSerializer],
        responses=PublicProductSerializer(many=True),
    )
    def get(self, request, slug):
        business = get_public_business(slug=slug)
        params = query_data(request, PublicProductFilterSerializer)
        products = selectors.list_public_products(
            business=business, collection_id=params.get("collection")
        )
        return self.paginated(request, products, PublicProductSerializer)


class PublicProductDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(tags=PUBLIC, summary="A shop's product", responses=PublicProductSerializer)
    def get(self, request, slug, product_id):
        product = selectors.get_public_product(slug=slug, product_id=product_id)
        return Response(PublicProductSerializer(product, context={"request": request}).data)


class PublicCollectionListView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=PUBLIC,
        summary="List a shop's collections",
        description="Collections with at least one visible product, in the shop's order.",
        responses=PublicCollectionSerializer(many=True),
    )
    def get(self, request, slug):
        business = get_public_business(slug=slug)
        collections = selectors.list_public_collections(business=business)
        return Response(PublicCollectionSerializer(collections, many=True).data)


# --- Members: products ------------------------------------------------------------


class ProductListView(_Paginated, APIView):
    @extend_schema(
        tags=MEMBERS,
        summary="List the catalog (agent+)",
        description="Every product, hidden ones included.",
        parameters=[ProductFilterSerializer],
        responses=ProductSerializer(many=True),
    )
    def get(self, request, slug):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.AGENT)
        params = query_data(request, ProductFilterSerializer)
        products = selectors.list_products_for(
            business=business,
            q=params.get("q", "").strip(),
            collection_id=params.get("collection"),
            active=params.get("active"),
        )
        return self.paginated(request, products, ProductSerializer)

    @extend_schema(
        tags=MEMBERS,
        summary="Create a product (admin+)",
        request=ProductInputSerializer,
        responses={201: ProductSerializer},
    )
    def post(self, request, slug):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        data = input_data(request, ProductInputSerializer)
        product = services.create_product(actor=request.user, business=business, **data)
        return Response(_product_out(request, business, product.pk), status=status.HTTP_201_CREATED)


class ProductDetailView(APIView):
    @extend_schema(tags=MEMBERS, summary="A product (agent+)", responses=ProductSerializer)
    def get(self, request, slug, product_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.AGENT)
        product = selectors.get_product_for(business=business, product_id=product_id)
        return Response(ProductSerializer(product, context={"request": request}).data)

    @extend_schema(
        tags=MEMBERS,
        summary="Change a product (admin+)",
        description="Only the fields sent change; `collection_ids` replaces the collections.",
        request=ProductInputSerializer(partial=True),
        responses=ProductSerializer,
    )
    def patch(self, request, slug, product_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        product = selectors.get_product_for(business=business, product_id=product_id)
        data = input_data(request, ProductInputSerializer, partial=True)
        services.update_product(actor=request.user, product=product, **data)
        return Response(_product_out(request, business, product.pk))

    @extend_schema(tags=MEMBERS, summary="Delete a product (admin+)", responses=DELETED)
    def delete(self, request, slug, product_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        product = selectors.get_product_for(business=business, product_id=product_id)
        services.delete_product(actor=request.user, product=product)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Members: photos --------------------------------------------------------------


class PhotoListView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=MEMBERS, summary="A product's photos (agent+)", responses=PhotoSerializer(many=True)
    )
    def get(self, request, slug, product_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.AGENT)
        product = selectors.get_product_for(business=business, product_id=product_id)
        return Response(_photos_out(request, product))

    @extend_schema(
        tags=MEMBERS,
        summary="Upload photos (admin+)",
        description=(
            "Multipart: one or several files under `photos`, optional `alt_text`. All or "
            "nothing: if one file is not a usable image, none is stored. Photos are "
            "re-encoded as WebP without metadata, with 320 and 960 px thumbnails."
        ),
        request={"multipart/form-data": PhotoUploadInputSerializer},
        responses={201: PhotoSerializer(many=True)},
    )
    def post(self, request, slug, product_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        product = selectors.get_product_for(business=business, product_id=product_id)
        data = input_data(request, PhotoUploadInputSerializer)
        photos = services.add_product_photos(
            actor=request.user, product=product, uploads=data["photos"], alt_text=data["alt_text"]
        )
        return Response(
            PhotoSerializer(photos, many=True, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class PhotoDetailView(APIView):
    @extend_schema(
        tags=MEMBERS,
        summary="Change a photo's alt text (admin+)",
        request=PhotoUpdateInputSerializer,
        responses=PhotoSerializer,
    )
    def patch(self, request, slug, product_id, photo_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        product = selectors.get_product_for(business=business, product_id=product_id)
        photo = selectors.get_photo_for(product=product, photo_id=photo_id)
        data = input_data(request, PhotoUpdateInputSerializer)
        photo = services.update_photo(actor=request.user, photo=photo, **data)
        return Response(PhotoSerializer(photo, context={"request": request}).data)

    @extend_schema(tags=MEMBERS, summary="Delete a photo (admin+)", responses=DELETED)
    def delete(self, request, slug, product_id, photo_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        product = selectors.get_product_for(business=business, product_id=product_id)
        photo = selectors.get_photo_for(product=product, photo_id=photo_id)
        services.delete_photo(actor=request.user, photo=photo)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhotoReorderView(APIView):
    @extend_schema(
        tags=MEMBERS,
        summary="Reorder a product's photos (admin+)",
        request=PhotoReorderInputSerializer,
        responses=PhotoSerializer(many=True),
    )
    def post(self, request, slug, product_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        product = selectors.get_product_for(business=business, product_id=product_id)
        data = input_data(request, PhotoReorderInputSerializer)
        services.reorder_photos(actor=request.user, product=product, photo_ids=data["photo_ids"])
        product = selectors.get_product_for(business=business, product_id=product.pk)
        return Response(_photos_out(request, product))


def _photos_out(request, product):
    return PhotoSerializer(product.photos.all(), many=True, context={"request": request}).data


# --- Members: collections ---------------------------------------------------------


class CollectionListView(APIView):
    @extend_schema(
        tags=MEMBERS, summary="List collections (agent+)", responses=CollectionSerializer(many=True)
    )
    def get(self, request, slug):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.AGENT)
        collections = selectors.list_collections_for(business=business)
        return Response(CollectionSerializer(collections, many=True).data)

    @extend_schema(
        tags=MEMBERS,
        summary="Create a collection (admin+)",
        request=CollectionInputSerializer,
        responses={201: CollectionSerializer},
    )
    def post(self, request, slug):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        data = input_data(request, CollectionInputSerializer)
        collection = services.create_collection(actor=request.user, business=business, **data)
        return Response(CollectionSerializer(collection).data, status=status.HTTP_201_CREATED)


class CollectionDetailView(APIView):
    @extend_schema(
        tags=MEMBERS,
        summary="Rename a collection (admin+)",
        request=CollectionInputSerializer,
        responses=CollectionSerializer,
    )
    def patch(self, request, slug, collection_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        collection = selectors.get_collection_for(business=business, collection_id=collection_id)
        data = input_data(request, CollectionInputSerializer)
        collection = services.rename_collection(actor=request.user, collection=collection, **data)
        return Response(CollectionSerializer(collection).data)

    @extend_schema(
        tags=MEMBERS,
        summary="Delete a collection (admin+)",
        description="Its products stay in the catalog.",
        responses=DELETED,
    )
    def delete(self, request, slug, collection_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        collection = selectors.get_collection_for(business=business, collection_id=collection_id)
        services.delete_collection(actor=request.user, collection=collection)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CollectionReorderView(APIView):
    @extend_schema(
        tags=MEMBERS,
        summary="Reorder collections (admin+)",
        request=CollectionReorderInputSerializer,
        responses=CollectionSerializer(many=True),
    )
    def post(self, request, slug):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        data = input_data(request, CollectionReorderInputSerializer)
        services.reorder_collections(
            actor=request.user, business=business, collection_ids=data["collection_ids"]
        )
        collections = selectors.list_collections_for(business=business)
        return Response(CollectionSerializer(collections, many=True).data)


class CollectionProductsReorderView(APIView):
    @extend_schema(
        tags=MEMBERS,
        summary="Reorder the products of a collection (admin+)",
        request=CollectionProductsReorderInputSerializer,
        responses={204: OpenApiResponse(description=_("Reordered."))},
    )
    def post(self, request, slug, collection_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        collection = selectors.get_collection_for(business=business, collection_id=collection_id)
        data = input_data(request, CollectionProductsReorderInputSerializer)
        services.reorder_collection_products(
            actor=request.user, collection=collection, product_ids=data["product_ids"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
