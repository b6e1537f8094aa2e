"""Catalog services: every write to products, photos and collections, as a merchant
makes it. Expected failures are AppErrors with stable codes, never an IntegrityError."""

import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from accounts.models import Membership
from accounts.tests.factories import UserFactory, create_business
from catalog import services
from catalog.models import Collection, CollectionItem, Product, ProductPhoto
from catalog.tests.factories import add_photos, make_product
from core.errors import AppError
from core.tests.uploads import PDF_BYTES, image_bytes, jpeg_with_gps, png_upload, upload

ROLE = Membership.Role


@pytest.fixture
def product(owner, business):
    return make_product(actor=owner, business=business, name="Pão de queijo", retailer_id="PQ-1")


def photo_files(photo) -> list[str]:
    return [photo.image.name, photo.thumb_320.name, photo.thumb_960.name]


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def photo_order(product) -> list[int]:
    return list(product.photos.order_by("position", "id").values_list("pk", flat=True))


def collection_order(collection) -> list[int]:
    return list(
        CollectionItem.objects.filter(collection=collection)
        .order_by("position", "id")
        .values_list("product_id", flat=True)
    )


# --- Products ---------------------------------------------------------------------


def test_create_product_appends_and_copies_the_currency(owner):
    # given a business that sells in US dollars
    business = create_business(owner=owner, currency="USD")

    # when the owner adds three products
    first, second, third = (make_product(actor=owner, business=business) for _ in range(3))

    # then each goes after the last, priced in the business's currency
    assert [first.position, second.position, third.position] == [1, 2, 3]
    assert {p.currency for p in (first, second, third)} == {"USD"}
    stored = Product.objects.get(pk=first.pk)
    assert type(stored.price) is int
    assert stored.price == 990
    assert stored.is_active and stored.in_stock


def test_an_admin_can_create_products(admin, business):
    product = make_product(actor=admin, business=business)

    assert product.pk and product.business == business


def test_a_sku_is_unique_within_a_business(owner, business, other):
    # given a product with SKU "A-1"
    make_product(actor=owner, business=business, retailer_id="A-1")

    # when another product of the same business takes the same SKU, then it is refused
    with pytest.raises(AppError) as exc:
        make_product(actor=owner, business=business, retailer_id="A-1")
    assert (exc.value.code, exc.value.field) == ("sku_taken", "retailer_id")
    assert "A-1" in str(exc.value)
    assert business.products.count() == 1

    # and the business next door may use it
    make_product(actor=other.owner, business=other.business, retailer_id="A-1")
    assert other.business.products.count() == 1


def test_changing_the_sku_to_a_taken_one_is_refused(owner, business, product):
    make_product(actor=owner, business=business, retailer_id="B-2")

    with pytest.raises(AppError) as exc:
        services.update_product(actor=owner, product=product, retailer_id="B-2")

    assert exc.value.code == "sku_taken"
    product.refresh_from_db()
    assert product.retailer_id == "PQ-1"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "x" * 121}, "name"),
        ({"name": ""}, "name"),
        ({"name": "<b>Bread</b>"}, "name"),
        ({"name": "Bread <script>alert(1)</script>"}, "name"),
        ({"description": "<img src=x onerror=alert(1)>"}, "description"),
        ({"description": "see javascript:alert(1)"}, "description"),
        ({"description": "x" * 5001}, "description"),
        ({"retailer_id": ""}, "retailer_id"),
        ({"retailer_id": "x" * 101}, "retailer_id"),
    ],
)
def test_invalid_product_fields_are_refused(owner, business, fields, field):
    with pytest.raises(AppError) as exc:
        make_product(actor=owner, business=business, **fields)

    assert exc.value.field == field
    assert str(exc.value)
    assert not business.products.exists()


def test_no_description_is_an_empty_one(owner, business, product):
    # an API client may send null for an optional text
    created = make_product(actor=owner, business=business, description=None)
    services.update_product(actor=owner, product=product, description=None)

    assert Product.objects.get(pk=created.pk).description == ""
    assert Product.objects.get(pk=product.pk).description == ""


def test_a_name_of_120_characters_is_fine(owner, business):
    assert make_product(actor=owner, business=business, name="x" * 120).name == "x" * 120


@pytest.mark.parametrize("price", [0, -1, -990])
def test_the_price_must_be_above_zero(owner, business, price):
    # the check constraint is never what answers (that would be an IntegrityError, a 500)
    with pytest.raises(AppError) as exc:
        make_product(actor=owner, business=business, price=price)

    assert exc.value.field == "price"
    assert not business.products.exists()


def test_the_price_cannot_be_changed_to_zero(owner, product):
    with pytest.raises(AppError) as exc:
        services.update_product(actor=owner, product=product, price=0)

    assert exc.value.field == "price"
    product.refresh_from_db()
    assert product.price == 990


@pytest.mark.parametrize("compare_at", [990, 989, 1])
def test_the_compare_at_price_must_be_above_the_price(owner, business, compare_at):
    with pytest.raises(AppError) as exc:
        make_product(actor=owner, business=business, price=990, compare_at_price=compare_at)

    assert (exc.value.code, exc.value.field) == ("compare_at_below_price", "compare_at_price")


def test_a_product_with_a_higher_compare_at_price_is_on_sale(owner, business):
    product = make_product(actor=owner, business=business, price=990, compare_at_price=1290)

    assert product.on_sale


def test_lowering_the_compare_at_price_below_the_price_is_refused(owner, business):
    # given a product on sale
    product = make_product(actor=owner, business=business, price=990, compare_at_price=1290)

    # when the price is raised above the old price, then it is refused
    with pytest.raises(AppError) as exc:
        services.update_product(actor=owner, product=product, price=1500)
    assert exc.value.code == "compare_at_below_price"

    # and raising both together is fine
    services.update_product(actor=owner, product=product, price=1500, compare_at_price=1990)
    product.refresh_from_db()
    assert (product.price, product.compare_at_price) == (1500, 1990)


def test_update_product_changes_only_what_is_given(owner, product):
    # when only the description changes
    services.update_product(actor=owner, product=product, description="Fresh, warm.")

    # then the rest is untouched
    product.refresh_from_db()
    assert product.description == "Fresh, warm."
    assert (product.name, product.retailer_id, product.price) == ("Pão de queijo", "PQ-1", 990)


def test_update_product_sets_the_collections(owner, business, product):
    breads = services.create_collection(actor=owner, business=business, name="Breads")
    snacks = services.create_collection(actor=owner, business=business, name="Snacks")

    # when the product is put in both collections
    services.update_product(actor=owner, product=product, collection_ids=[breads.pk, snacks.pk])
    assert set(product.collections.all()) == {breads, snacks}

    # then leaving collections out of an update keeps them
    services.update_product(actor=owner, product=product, name="Pão de queijo mineiro")
    assert set(product.collections.all()) == {breads, snacks}

    # and a new list replaces the old one; an empty list clears them
    services.update_product(actor=owner, product=product, collection_ids=[snacks.pk])
    assert list(product.collections.all()) == [snacks]
    services.update_product(actor=owner, product=product, collection_ids=[])
    assert not product.collections.exists()
    assert Collection.objects.filter(business=business).count() == 2


def test_a_product_joins_the_end_of_a_collection(owner, business):
    breads = services.create_collection(actor=owner, business=business, name="Breads")
    first = make_product(actor=owner, business=business, collection_ids=[breads.pk])
    second = make_product(actor=owner, business=business)

    services.update_product(actor=owner, product=second, collection_ids=[breads.pk])

    assert collection_order(breads) == [first.pk, second.pk]


def test_another_business_collection_is_refused(owner, business, other, product):
    # given a collection of the business next door
    theirs = services.create_collection(actor=other.owner, business=other.business, name="Gifts")
    ours = services.create_collection(actor=owner, business=business, name="Breads")
    services.update_product(actor=owner, product=product, collection_ids=[ours.pk])

    # when a product is put in it, on creation or on update, then it is refused
    with pytest.raises(AppError) as exc:
        make_product(actor=owner, business=business, collection_ids=[theirs.pk])
    assert (exc.value.code, exc.value.field) == ("unknown_collection", "collections")
    with pytest.raises(AppError) as exc:
        services.update_product(
            actor=owner, product=product, name="Renamed", collection_ids=[ours.pk, theirs.pk]
        )
    assert exc.value.code == "unknown_collection"

    # and nothing changed: no new product, the update rolled back whole
    assert business.products.count() == 1
    product.refresh_from_db()
    assert product.name == "Pão de queijo"
    assert list(product.collections.all()) == [ours]
    assert not theirs.products.exists()


def test_unknown_fields_are_a_programming_error(owner, business, product):
    with pytest.raises(TypeError):
        make_product(actor=owner, business=business, currency="USD")
    with pytest.raises(TypeError):
        services.update_product(actor=owner, product=product, business=business)


def test_set_product_active_hides_and_shows(owner, product):
    services.set_product_active(actor=owner, product=product, is_active=False)
    product.refresh_from_db()
    assert not product.is_active

    services.set_product_active(actor=owner, product=product, is_active=True)
    product.refresh_from_db()
    assert product.is_active


def test_set_product_in_stock_toggles_between_zero_and_unlimited(owner, business):
    product = make_product(actor=owner, business=business, stock=7)

    services.set_product_in_stock(actor=owner, product=product, in_stock=False)
    product.refresh_from_db()
    assert (product.stock, product.in_stock) == (0, False)

    services.set_product_in_stock(actor=owner, product=product, in_stock=True)
    product.refresh_from_db()
    assert (product.stock, product.in_stock) == (None, True)


def test_delete_product_removes_its_photo_files_after_commit(
    owner, business, product, django_capture_on_commit_callbacks
):
    # given a product with two photos in a collection, and another product
    breads = services.create_collection(actor=owner, business=business, name="Breads")
    services.update_product(actor=owner, product=product, collection_ids=[breads.pk])
    photos = add_photos(owner, product, 2)
    names = [name for photo in photos for name in photo_files(photo)]
    keep = make_product(actor=owner, business=business)
    kept_files = photo_files(add_photos(owner, keep, 1)[0])
    assert all(default_storage.exists(n) for n in names)

    # when the product is deleted, the files stay until the commit
    with django_capture_on_commit_callbacks() as callbacks:
        services.delete_product(actor=owner, product=product)
    assert all(default_storage.exists(n) for n in names)
    for callback in callbacks:
        callback()

    # then its rows and files are gone; the collection and the other product stay
    assert not Product.objects.filter(pk=product.pk).exists()
    assert not ProductPhoto.objects.filter(product_id=product.pk).exists()
    assert not CollectionItem.objects.filter(product_id=product.pk).exists()
    assert not any(default_storage.exists(n) for n in names)
    assert Collection.objects.filter(pk=breads.pk).exists()
    assert all(default_storage.exists(n) for n in kept_files)


# --- Permissions ------------------------------------------------------------------


def _ops(business, product, photo, collection):
    return {
        "create_product": lambda u: make_product(actor=u, business=business),
        "update_product": lambda u: services.update_product(actor=u, product=product, name="X"),
        "set_active": lambda u: services.set_product_active(
            actor=u, product=product, is_active=False
        ),
        "set_in_stock": lambda u: services.set_product_in_stock(
            actor=u, product=product, in_stock=False
        ),
        "delete_product": lambda u: services.delete_product(actor=u, product=product),
        "add_photos": lambda u: services.add_product_photos(
            actor=u, product=product, uploads=[png_upload()]
        ),
        "update_photo": lambda u: services.update_photo(actor=u, photo=photo, alt_text="X"),
        "move_photo": lambda u: services.move_photo(actor=u, photo=photo, offset=1),
        "reorder_photos": lambda u: services.reorder_photos(
            actor=u, product=product, photo_ids=[photo.pk]
        ),
        "delete_photo": lambda u: services.delete_photo(actor=u, photo=photo),
        "create_collection": lambda u: services.create_collection(
            actor=u, business=business, name="New"
        ),
        "rename_collection": lambda u: services.rename_collection(
            actor=u, collection=collection, name="Renamed"
        ),
        "delete_collection": lambda u: services.delete_collection(actor=u, collection=collection),
        "reorder_collections": lambda u: services.reorder_collections(
            actor=u, business=business, collection_ids=[collection.pk]
        ),
        "reorder_collection_products": lambda u: services.reorder_collection_products(
            actor=u, collection=collection, product_ids=[product.pk]
        ),
    }


@pytest.mark.parametrize("who", ["agent", "outsider", "other_owner"])
def test_only_admins_and_owners_change_the_catalog(
    who, owner, business, product, agent, other, django_capture_on_commit_callbacks
):
    # given a catalog with a photo and a collection
    collection = services.create_collection(actor=owner, business=business, name="Breads")
    services.update_product(actor=owner, product=product, collection_ids=[collection.pk])
    photo = add_photos(owner, product, 1)[0]
    user = {"agent": agent, "outsider": UserFactory(), "other_owner": other.owner}[who]

    # when someone who is not an admin of this business tries any write, then it is forbidden
    for name, op in _ops(business, product, photo, collection).items():
        with pytest.raises(AppError) as exc:
            op(user)
        assert (exc.value.code, exc.value.status_code) == ("forbidden", 403), name

    # and nothing changed
    product.refresh_from_db()
    photo.refresh_from_db()
    collection.refresh_from_db()
    assert (product.name, product.is_active, product.stock) == ("Pão de queijo", True, None)
    assert (photo.alt_text, collection.name) == ("Pão de queijo", "Breads")
    assert business.products.count() == 1
    assert business.collections.count() == 1
    assert product.photos.count() == 1


# --- Photos -----------------------------------------------------------------------


def test_several_photos_are_added_at_once_after_the_existing_ones(owner, product):
    # given a product with one photo
    (first,) = add_photos(owner, product, 1)

    # when three more are uploaded together
    added = services.add_product_photos(
        actor=owner,
        product=product,
        uploads=[
            png_upload((100, 100), name="a.png"),
            upload(image_bytes("JPEG", (100, 100)), name="b.jpg", content_type="image/jpeg"),
            upload(image_bytes("WEBP", (100, 100)), name="c.webp", content_type="image/webp"),
        ],
        alt_text="Cheese bread, close up",
    )

    # then they follow the first one, which stays the cover
    assert photo_order(product) == [first.pk] + [p.pk for p in added]
    assert Product.objects.get(pk=product.pk).cover == first
    assert [p.alt_text for p in added] == ["Cheese bread, close up"] * 3
    # and a photo with no alt text describes itself with the product's name
    assert first.alt_text == "Pão de queijo"


def test_photos_are_stored_as_webp_with_thumbnails(owner, product):
    # given a large landscape photo
    source = upload(image_bytes("JPEG", (3000, 1500)), name="big.jpg", content_type="image/jpeg")

    # when it is uploaded
    (photo,) = services.add_product_photos(actor=owner, product=product, uploads=[source])

    # then the main image and both thumbnails are WebPs at most their size
    for field, limit in ((photo.image, 2048), (photo.thumb_320, 320), (photo.thumb_960, 960)):
        assert field.name.endswith(".webp")
        with Image.open(field.path) as img:
            assert img.format == "WEBP"
            assert max(img.size) == limit
            assert img.size[0] == 2 * img.size[1]
    assert (photo.width, photo.height) == (2048, 1024)


def test_small_photos_are_not_enlarged(owner, product):
    (photo,) = add_photos(owner, product, 1)

    for field in (photo.image, photo.thumb_320, photo.thumb_960):
        with Image.open(field.path) as img:
            assert img.size == (80, 60)


def test_exif_and_gps_are_stripped(owner, product):
    # given a phone photo that carries where it was taken
    source = upload(jpeg_with_gps(), name="phone.jpg", content_type="image/jpeg")

    (photo,) = services.add_product_photos(actor=owner, product=product, uploads=[source])

    # then no stored file carries any EXIF at all
    for name in photo_files(photo):
        data = default_storage.open(name).read()
        assert b"Exif" not in data
        assert b"TestCam" not in data
        with Image.open(default_storage.open(name)) as img:
            assert not img.getexif()


def test_one_bad_file_and_nothing_is_stored(owner, product):
    # given a product with a photo, and an upload where the second file is a PDF named .jpg
    add_photos(owner, product, 1)
    files_before = sorted(stored_files())
    uploads = [
        png_upload(name="good.png"),
        upload(PDF_BYTES, name="menu.jpg", content_type="image/jpeg"),
        png_upload(name="also-good.png"),
    ]

    # when they are uploaded together, then the upload is refused, naming the bad file
    with pytest.raises(AppError) as exc:
        services.add_product_photos(actor=owner, product=product, uploads=uploads)
    assert (exc.value.code, exc.value.field) == ("image_invalid", "photos")
    assert "menu.jpg" in str(exc.value)

    # and no photo row and no file was added
    assert product.photos.count() == 1
    assert sorted(stored_files()) == files_before


def test_at_most_ten_photos_per_product(owner, product):
    # eleven at once are refused before anything is decoded
    with pytest.raises(AppError) as exc:
        add_photos(owner, product, 11)
    assert exc.value.code == "too_many_photos"

    # given nine photos
    add_photos(owner, product, 9)

    # when two more are uploaded, then they are refused; one more fits exactly
    with pytest.raises(AppError) as exc:
        add_photos(owner, product, 2)
    assert exc.value.code == "too_many_photos"
    add_photos(owner, product, 1)
    assert product.photos.count() == 10
    with pytest.raises(AppError):
        add_photos(owner, product, 1)
    assert product.photos.count() == 10


@pytest.mark.django_db(transaction=True)
def test_two_uploads_at_once_cannot_pass_ten_photos(monkeypatch):
    """Both uploads pass the early count, then meet at the product's row lock: the
    second one counts again there and is refused."""
    owner = UserFactory()
    business = create_business(owner=owner)
    product = make_product(actor=owner, business=business)

    # Hold both uploads after the early count until both have got that far.
    counted = threading.Barrier(2, timeout=20)
    clean_image = services.clean_image
    first_call = threading.local()

    def clean_when_both_have_counted(upload, **limits):
        if not getattr(first_call, "done", False):
            first_call.done = True
            counted.wait()
        return clean_image(upload, **limits)

    monkeypatch.setattr(services, "clean_image", clean_when_both_have_counted)
    outcomes: list[str] = []

    def upload_six() -> None:
        try:
            add_photos(owner, product, 6)
            outcomes.append("ok")
        except AppError as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # surfaced by the asserts below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=upload_six) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    assert sorted(outcomes) == ["ok", "too_many_photos"], outcomes
    assert product.photos.count() == 6


def test_no_photos_is_refused(owner, product):
    with pytest.raises(AppError) as exc:
        services.add_product_photos(actor=owner, product=product, uploads=[])

    assert exc.value.code == "no_photos"


def test_a_side_above_6000_pixels_is_refused(owner, product):
    with pytest.raises(AppError) as exc:
        services.add_product_photos(
            actor=owner, product=product, uploads=[png_upload((6001, 10), name="wide.png")]
        )

    assert exc.value.code == "image_dimensions"
    assert not product.photos.exists()
    assert stored_files() == []


def test_6000_pixels_is_accepted(owner, product):
    (photo,) = services.add_product_photos(
        actor=owner, product=product, uploads=[png_upload((10, 6000), name="tall.png")]
    )

    assert max(photo.width, photo.height) == 2048


def test_a_file_above_10_mb_is_refused(owner, product):
    # the size is checked before a single byte is decoded
    big = SimpleUploadedFile("huge.jpg", b"\0" * (10 * 1024 * 1024 + 1), "image/jpeg")

    with pytest.raises(AppError) as exc:
        services.add_product_photos(actor=owner, product=product, uploads=[big])

    assert exc.value.code == "image_too_large"
    assert not product.photos.exists()


@pytest.mark.parametrize("alt_text", ["<script>alert(1)</script>", "x" * 201])
def test_invalid_alt_text_on_upload_is_refused_and_leaves_no_file(owner, product, alt_text):
    with pytest.raises(AppError) as exc:
        add_photos(owner, product, 2, alt_text=alt_text)

    assert exc.value.field == "alt_text"
    assert not product.photos.exists()
    assert stored_files() == []


def test_upload_alt_text_is_trimmed_and_blank_means_the_product_name(owner, product):
    (named,) = add_photos(owner, product, 1, alt_text="  Cheese bread  ")
    (blank,) = add_photos(owner, product, 1, alt_text="   ")

    assert named.alt_text == "Cheese bread"
    assert blank.alt_text == "Pão de queijo"


def test_update_photo_sets_the_alt_text(owner, product):
    (photo,) = add_photos(owner, product, 1)

    services.update_photo(actor=owner, photo=photo, alt_text="  Golden cheese bread  ")

    photo.refresh_from_db()
    assert photo.alt_text == "Golden cheese bread"


@pytest.mark.parametrize("alt_text", ["<b>bold</b>", "x" * 201])
def test_update_photo_refuses_invalid_alt_text(owner, product, alt_text):
    (photo,) = add_photos(owner, product, 1)

    with pytest.raises(AppError) as exc:
        services.update_photo(actor=owner, photo=photo, alt_text=alt_text)

    assert exc.value.field == "alt_text"
    photo.refresh_from_db()
    assert photo.alt_text == "Pão de queijo"


def test_move_photo_one_place_and_the_first_is_the_cover(owner, product):
    a, b, c = add_photos(owner, product, 3)

    # when the last photo moves one place earlier
    services.move_photo(actor=owner, photo=c, offset=-1)
    assert photo_order(product) == [a.pk, c.pk, b.pk]

    # when it moves earlier again, it becomes the cover
    services.move_photo(actor=owner, photo=c, offset=-1)
    assert photo_order(product) == [c.pk, a.pk, b.pk]
    assert Product.objects.get(pk=product.pk).cover == c

    # and moving past either end changes nothing
    services.move_photo(actor=owner, photo=c, offset=-1)
    services.move_photo(actor=owner, photo=b, offset=1)
    assert photo_order(product) == [c.pk, a.pk, b.pk]


def test_moving_a_photo_deleted_meanwhile_is_stale(owner, product):
    # given a page still showing a photo that was deleted in another tab
    a, _b = add_photos(owner, product, 2)
    ProductPhoto.objects.filter(pk=a.pk).delete()

    # when it is moved, then the merchant is told to reload (not a 500)
    with pytest.raises(AppError) as exc:
        services.move_photo(actor=owner, photo=a, offset=1)
    assert exc.value.code == "stale_order"


def test_reorder_photos(owner, product):
    a, b, c = add_photos(owner, product, 3)

    services.reorder_photos(actor=owner, product=product, photo_ids=[c.pk, a.pk, b.pk])

    assert photo_order(product) == [c.pk, a.pk, b.pk]
    assert Product.objects.get(pk=product.pk).cover == c


def test_reorder_photos_refuses_a_stale_list(owner, business, product):
    # given three photos, and a photo of another product
    a, b, c = add_photos(owner, product, 3)
    (elsewhere,) = add_photos(owner, make_product(actor=owner, business=business), 1)

    # when the list the page sent no longer matches the photos, then it is refused
    for stale in ([a.pk, b.pk], [a.pk, b.pk, c.pk, elsewhere.pk], [a.pk, b.pk, elsewhere.pk]):
        with pytest.raises(AppError) as exc:
            services.reorder_photos(actor=owner, product=product, photo_ids=stale)
        assert exc.value.code == "stale_order"
    with pytest.raises(AppError) as exc:
        services.reorder_photos(actor=owner, product=product, photo_ids=[a.pk, a.pk, b.pk])
    assert exc.value.code == "stale_order"
    with pytest.raises(AppError) as exc:
        services.reorder_photos(actor=owner, product=product, photo_ids=["abc", a.pk, b.pk])
    assert exc.value.code == "invalid_order"

    # and the order is unchanged
    assert photo_order(product) == [a.pk, b.pk, c.pk]


def test_delete_photo_removes_its_files_after_commit(
    owner, product, django_capture_on_commit_callbacks
):
    a, b = add_photos(owner, product, 2)
    names = photo_files(a)

    with django_capture_on_commit_callbacks(execute=True):
        services.delete_photo(actor=owner, photo=a)

    assert not ProductPhoto.objects.filter(pk=a.pk).exists()
    assert not any(default_storage.exists(n) for n in names)
    assert all(default_storage.exists(n) for n in photo_files(b))
    assert Product.objects.get(pk=product.pk).cover == b


# --- Collections ------------------------------------------------------------------


def test_create_collections_in_order(owner, business):
    first = services.create_collection(actor=owner, business=business, name="  Breads ")
    second = services.create_collection(actor=owner, business=business, name="Cakes")

    assert (first.name, first.position) == ("Breads", 1)
    assert (second.name, second.position) == ("Cakes", 2)


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, "<i>Breads</i>"])
def test_invalid_collection_names_are_refused(owner, business, name):
    with pytest.raises(AppError) as exc:
        services.create_collection(actor=owner, business=business, name=name)

    assert exc.value.field == "name"
    assert not business.collections.exists()


def test_collection_names_are_unique_within_a_business(owner, business, other):
    services.create_collection(actor=owner, business=business, name="Breads")
    cakes = services.create_collection(actor=owner, business=business, name="Cakes")

    # a second "Breads", new or renamed, is refused
    with pytest.raises(AppError) as exc:
        services.create_collection(actor=owner, business=business, name="Breads")
    assert (exc.value.code, exc.value.field) == ("collection_taken", "name")
    with pytest.raises(AppError) as exc:
        services.rename_collection(actor=owner, collection=cakes, name="Breads")
    assert exc.value.code == "collection_taken"
    assert Collection.objects.get(pk=cakes.pk).name == "Cakes"

    # and the business next door may have its own "Breads"
    services.create_collection(actor=other.owner, business=other.business, name="Breads")


def test_rename_collection(owner, business):
    collection = services.create_collection(actor=owner, business=business, name="Breads")

    services.rename_collection(actor=owner, collection=collection, name="Fresh breads")

    collection.refresh_from_db()
    assert collection.name == "Fresh breads"


def test_delete_collection_keeps_its_products(owner, business):
    breads = services.create_collection(actor=owner, business=business, name="Breads")
    product = make_product(actor=owner, business=business, collection_ids=[breads.pk])

    services.delete_collection(actor=owner, collection=breads)

    assert not Collection.objects.filter(pk=breads.pk).exists()
    assert Product.objects.filter(pk=product.pk).exists()
    assert not product.collections.exists()


def test_reorder_collections(owner, business, other):
    a, b, c = (services.create_collection(actor=owner, business=business, name=n) for n in "ABC")
    theirs = services.create_collection(actor=other.owner, business=other.business, name="D")

    services.reorder_collections(actor=owner, business=business, collection_ids=[c.pk, a.pk, b.pk])
    assert list(business.collections.order_by("position", "id")) == [c, a, b]

    with pytest.raises(AppError) as exc:
        services.reorder_collections(
            actor=owner, business=business, collection_ids=[c.pk, a.pk, theirs.pk]
        )
    assert exc.value.code == "stale_order"
    assert list(business.collections.order_by("position", "id")) == [c, a, b]


def test_reorder_collection_products(owner, business):
    breads = services.create_collection(actor=owner, business=business, name="Breads")
    p1, p2, p3 = (
        make_product(actor=owner, business=business, collection_ids=[breads.pk]) for _ in range(3)
    )
    outside = make_product(actor=owner, business=business)
    assert collection_order(breads) == [p1.pk, p2.pk, p3.pk]

    # when the merchant drags the last product to the top
    services.reorder_collection_products(
        actor=owner, collection=breads, product_ids=[p3.pk, p1.pk, p2.pk]
    )
    assert collection_order(breads) == [p3.pk, p1.pk, p2.pk]

    # then a list that is missing one, or names a product not in the collection, is stale
    for stale in ([p1.pk, p2.pk], [p3.pk, p1.pk, outside.pk], [p3.pk, p1.pk, p2.pk, outside.pk]):
        with pytest.raises(AppError) as exc:
            services.reorder_collection_products(actor=owner, collection=breads, product_ids=stale)
        assert exc.value.code == "stale_order"
    assert collection_order(breads) == [p3.pk, p1.pk, p2.pk]
    # and the catalog's own order is not the collection's
    assert [p.pk for p in business.products.order_by("position")] == [
        p1.pk,
        p2.pk,
        p3.pk,
        outside.pk,
    ]
