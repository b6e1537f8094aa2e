"""Product feeds (CSV): export in the Meta/Google columns, parse and check an upload,
import all or nothing. Bad files give every problem with its line and change nothing."""

import csv
import io
import random

import pytest
from django.core.validators import MaxLengthValidator
from django.utils import translation

from accounts.models import Membership
from catalog import feed, services
from catalog.feed import FeedRejected, parse_feed
from catalog.models import Product, ProductImport
from catalog.tests.factories import feed_file, make_product
from core.errors import AppError
from core.tests.uploads import png_upload

HEADER = "id,title,description,availability,condition,price,sale_price,link,image_link,brand"


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def parse(data: bytes, currency: str = "BRL"):
    return parse_feed(data, currency=currency)


def errors_of(result) -> list[tuple]:
    return [(e.line, e.column) for e in result.errors]


def snapshot(business) -> list[tuple]:
    return list(
        business.products.order_by("pk").values_list(
            "retailer_id", "name", "description", "price", "compare_at_price", "stock"
        )
    )


# --- Export -----------------------------------------------------------------------


def test_export_writes_the_feed_columns(owner, business, settings):
    # given a product on sale with a photo, and one out of stock
    settings.SITE_URL = "https://shop.example"
    sale = make_product(
        owner,
        business,
        name="Pão de queijo",
        retailer_id="PQ-1",
        description="Quentinho",
        price=1990,
        compare_at_price=2490,
    )
    services.add_product_photos(actor=owner, product=sale, uploads=[png_upload()])
    make_product(owner, business, name="Café", retailer_id="CF-1", price=500, stock=0)

    # when it is exported (in Portuguese, which writes 19,90 on screen)
    with translation.override("pt-br"):
        text = feed.export_products(business)

    # then the header is the feed's, and prices use the feed notation
    assert text.splitlines()[0] == HEADER
    first, second = rows_of(text)
    assert first == {
        "id": "PQ-1",
        "title": "Pão de queijo",
        "description": "Quentinho",
        "availability": "in stock",
        "condition": "new",
        "price": "24.90 BRL",  # the regular price...
        "sale_price": "19.90 BRL",  # ...and what the customer pays now
        "link": f"https://shop.example/s/padaria-central/p/{sale.pk}/",
        "image_link": "https://shop.example" + sale.photos.get().image.url,
        "brand": "Padaria Central",
    }
    assert second["availability"] == "out of stock"
    assert (second["price"], second["sale_price"], second["image_link"]) == ("5.00 BRL", "", "")


def test_export_runs_a_fixed_number_of_queries(owner, business, django_assert_num_queries):
    for _ in range(5):
        product = make_product(owner, business)
        services.add_product_photos(actor=owner, product=product, uploads=[png_upload()])

    with django_assert_num_queries(2):  # products, their photos
        text = feed.export_products(business)
    assert len(rows_of(text)) == 5


@pytest.mark.parametrize(
    ("value", "exported"),
    [
        ('=HYPERLINK("http://evil.example")', '\'=HYPERLINK("http://evil.example")'),
        ("+55 bread", "'+55 bread"),
        ("-10% off", "'-10% off"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("Plain = safe", "Plain = safe"),
    ],
)
def test_export_escapes_cells_a_spreadsheet_would_run(owner, business, value, exported):
    # given names and ids that a spreadsheet would read as formulas
    make_product(owner, business, name=value, retailer_id=value, description=value)

    (row,) = rows_of(feed.export_products(business))

    assert row["id"] == row["title"] == row["description"] == exported


def test_escape_formula_covers_tab_and_carriage_return():
    assert feed.escape_formula("\t=1") == "'\t=1"
    assert feed.escape_formula("\r=1") == "'\r=1"
    assert feed.escape_formula("ok") == "ok"


# --- Round trip -------------------------------------------------------------------


def test_reimporting_an_export_updates_and_never_duplicates(owner, business):
    # given a catalog, including a product named like a formula
    make_product(owner, business, name="=1+1", retailer_id="-SKU", price=1990)
    make_product(owner, business, name="Sonho", retailer_id="SN-1", price=800, compare_at_price=900)
    make_product(owner, business, name="Café", retailer_id="CF-1", price=500, stock=0)
    before = snapshot(business)
    exported = feed.export_products(business).encode()

    # when the export is imported back as is
    job = services.import_feed_file(actor=owner, business=business, filename="x.csv", data=exported)

    # then nothing is created or changed
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 0, 3)
    assert snapshot(business) == before

    # and when a price is edited in the file, only that product is updated
    edited = exported.replace(b"8.00 BRL", b"7.50 BRL")
    job = services.import_feed_file(actor=owner, business=business, filename="x.csv", data=edited)
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 2)
    assert business.products.count() == 3
    assert business.products.get(retailer_id="SN-1").price == 750


def test_import_leaves_photos_visibility_and_collections_alone(owner, business):
    product = make_product(owner, business, retailer_id="A", is_active=False, stock=12)
    services.add_product_photos(actor=owner, product=product, uploads=[png_upload()])
    breads = services.create_collection(actor=owner, business=business, name="Breads")
    services.update_product(actor=owner, product=product, collection_ids=[breads.pk])

    services.import_feed_file(
        actor=owner,
        business=business,
        filename="x.csv",
        data=feed_file("A,New name,5.00 BRL,in stock", header="id,title,price,availability"),
    )

    product.refresh_from_db()
    assert product.name == "New name" and product.price == 500
    assert not product.is_active
    assert product.stock == 12  # still in stock: the count is kept
    assert product.photos.count() == 1
    assert list(product.collections.all()) == [breads]


def test_availability_and_missing_columns(owner, business):
    # given a product with a description, one with 3 in stock and one out of stock
    make_product(owner, business, retailer_id="A", description="Keep me", stock=3)
    make_product(owner, business, retailer_id="B", stock=0)
    make_product(owner, business, retailer_id="C", stock=None)

    # when a file without a description column says A is out, B is back and C says nothing
    data = feed_file(
        "A,A,1 BRL,out of stock",
        "B,B,1 BRL,in stock",
        "C,C,1 BRL,",
        "D,D,1 BRL,out_of_stock",
        "E,E,1 BRL,preorder",
        header="id,title,price,availability",
    )
    services.import_feed_file(actor=owner, business=business, filename="x.csv", data=data)

    stock = dict(business.products.values_list("retailer_id", "stock"))
    assert stock == {"A": 0, "B": None, "C": None, "D": 0, "E": None}
    assert business.products.get(retailer_id="A").description == "Keep me"


def test_a_row_without_sale_price_ends_the_sale(owner, business):
    make_product(owner, business, retailer_id="A", price=800, compare_at_price=1000)

    services.import_feed_file(
        actor=owner, business=business, filename="x.csv", data=feed_file("A,A,9.00 BRL")
    )

    product = business.products.get()
    assert (product.price, product.compare_at_price) == (900, None)


def test_new_products_go_after_the_existing_ones(owner, business):
    old = make_product(owner, business, retailer_id="OLD")

    services.import_feed_file(
        actor=owner, business=business, filename="x.csv", data=feed_file("N1,a,1 BRL", "N2,b,1 BRL")
    )

    order = list(business.products.order_by("position").values_list("retailer_id", flat=True))
    assert order == ["OLD", "N1", "N2"]
    assert business.products.get(retailer_id="N1").position > old.position
    assert {p.currency for p in business.products.all()} == {"BRL"}


# --- Encodings and delimiters -----------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("utf-8-sig", "UTF-8"), ("utf-8", "UTF-8"), ("cp1252", "Windows-1252"), ("utf-16", "UTF-16")],
)
def test_accents_survive_every_encoding(encoding, name):
    data = feed_file("PQ-1,Pão de queijo,19.90 BRL", "AC-1,Açaí “grande”,12 BRL", encoding=encoding)

    result = parse(data)

    assert result.errors == []
    assert result.encoding == name
    assert [r.name for r in result.rows] == ["Pão de queijo", "Açaí “grande”"]
    assert result.rows[0].retailer_id == "PQ-1"  # the BOM is not part of the first column


def test_latin1_bytes_undefined_in_windows_1252_still_decode():
    result = parse("id,title,price\nA,Caf\xe9 \x81,1 BRL\n".encode("latin-1"))

    assert result.encoding == "Latin-1"
    assert result.errors == [feed.FeedError(2, "title", "Contains invisible control characters.")]


def test_a_bom_file_with_broken_bytes_names_the_line():
    data = b"\xef\xbb\xbfid,title,price\nA,ok,1 BRL\nB,caf\xe9,1 BRL\n"

    result = parse(data)

    assert result.rows == []
    assert errors_of(result) == [(3, "")]
    assert "UTF-8" in result.errors[0].message


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_sniffed(delimiter):
    data = delimiter.join(["id", "title", "price", "description"]) + "\n"
    data += delimiter.join(["A", "Pão", "19.90 BRL", '"Soft, warm; fresh"']) + "\n"

    result = parse(data.encode())

    assert result.errors == []
    assert result.delimiter == delimiter
    assert result.rows[0].description == "Soft, warm; fresh"


def test_excel_sep_line_and_spreadsheet_style_headers():
    data = "sep=;\nID;Title;Price;Sale Price\nA;Pão;19.90 BRL;15 BRL\n".encode()

    result = parse(data)

    assert result.errors == []
    assert (result.rows[0].price, result.rows[0].compare_at_price) == (1500, 1990)


def test_semicolon_file_with_decimal_comma_says_use_a_dot():
    result = parse(b"id;title;price\nA;Bread;19,90 BRL\n")

    assert errors_of(result) == [(2, "price")]
    assert "dot" in result.errors[0].message


# --- Columns ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("name,sku,valor", "id, title, price"),
        ("id,title", "price"),
        ("id;nome;preço", "title, price"),
    ],
)
def test_missing_required_columns(header, missing):
    result = parse(f"{header}\nA,B,C\n".encode())

    assert result.rows == []
    assert errors_of(result) == [(1, "")]
    assert f"missing: {missing}" in result.errors[0].message


def test_a_repeated_column_is_an_error():
    result = parse(b"id,title,price,title\nA,B,1 BRL,C\n")

    assert errors_of(result) == [(1, "")]
    assert "title" in result.errors[0].message


def test_unknown_columns_are_ignored_and_named():
    result = parse(b"id,title,price,gtin,google_product_category\nA,B,1 BRL,789,Food\n")

    assert result.errors == []
    assert result.ignored_columns == ["gtin", "google_product_category"]


def test_extra_cells_suggest_a_missing_quote():
    result = parse(b"id,title,price\nA,Bread, big,1 BRL\n")

    assert errors_of(result) == [(2, "")]
    assert "without quotes" in result.errors[0].message


def test_short_lines_read_as_empty_trailing_cells():
    result = parse(b"id,title,price,description\nA,Bread,1 BRL\n")

    assert result.errors == []
    assert result.rows[0].description == ""


def test_line_numbers_count_lines_inside_quoted_cells():
    data = (
        b'id,title,price,description\nA,Bread,1 BRL,"line one\nline two\nline three"\nB,,1 BRL,x\n'
    )

    result = parse(data)

    assert errors_of(result) == [(5, "title")]


def test_an_unclosed_quote_is_reported():
    result = parse(b'id,title,price\nA,"Bread,1 BRL\nB,Cake,2 BRL\n')

    assert result.errors and result.errors[0].line >= 2
    assert "quote" in result.errors[0].message


# --- Rows -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "words"),
    [
        ('"19,90 BRL"', "dot"),
        ("abc", "e.g. 19.90 BRL"),
        ("19.90", "e.g. 19.90 BRL"),
        ("R$ 19.90", "e.g. 19.90 BRL"),
        ("-1 BRL", "negative"),
        ("0 BRL", "more than zero"),
        ("0.00 BRL", "more than zero"),
        ("19.90 USD", "in USD but this shop sells in BRL"),
        ("19.999 BRL", "2 decimal places"),
        ("99999999999999 BRL", "too large"),
        ("", "e.g. 19.90 BRL"),
    ],
)
def test_bad_prices_are_reported_with_line_and_column(price, words):
    result = parse(feed_file("OK,Fine,1 BRL", f"A,Bread,{price}"))

    assert errors_of(result) == [(3, "price")]
    assert words in result.errors[0].message


@pytest.mark.parametrize("price", ["١٢٣ BRL", "１２３ BRL", "¹²³ BRL", "12.٥٠ BRL"])
def test_a_price_in_other_digits_than_ascii_is_an_error(price):
    # given a feed whose price is written with Arabic-Indic, full-width or superscript
    # digits (Decimal() would read the first two as 123)
    # when it is parsed
    result = parse(feed_file("OK,Fine,1 BRL", f"A,Bread,{price}"))

    # then the line is refused with the usual message and no row is kept
    assert errors_of(result) == [(3, "price")]
    assert "e.g. 19.90 BRL" in result.errors[0].message


def test_prices_in_the_shops_own_currency():
    result = parse(feed_file("A,Bread,19.9 usd"), currency="USD")

    assert result.errors == []
    assert result.rows[0].price == 1990


@pytest.mark.parametrize("sale", ["19.90 BRL", "25 BRL"])
def test_a_sale_price_must_be_below_the_price(sale):
    result = parse(feed_file(f"A,Bread,19.90 BRL,{sale}", header="id,title,price,sale_price"))

    assert errors_of(result) == [(2, "sale_price")]
    assert "lower than the price" in result.errors[0].message


def test_duplicate_ids_name_the_first_line():
    result = parse(feed_file("A,Bread,1 BRL", "B,Cake,1 BRL", "A,Other,2 BRL"))

    assert errors_of(result) == [(4, "id")]
    assert "line 2" in result.errors[0].message


@pytest.mark.parametrize(
    ("line", "column", "words"),
    [
        (",Bread,1 BRL", "id", "cannot be empty"),
        ("A,,1 BRL", "title", "cannot be empty"),
        (f"{'x' * 101},Bread,1 BRL", "id", "at most 100"),
        (f"A,{'x' * 121},1 BRL", "title", "at most 120"),
        ("A,<script>alert(1)</script>,1 BRL", "title", "plain text"),
    ],
)
def test_ids_and_titles_are_checked(line, column, words):
    result = parse(feed_file(line))

    assert errors_of(result) == [(2, column)]
    assert words in result.errors[0].message


def test_availability_and_condition_values_are_checked():
    data = feed_file(
        "A,Bread,1 BRL,soon,new",
        "B,Cake,1 BRL,in stock,used",
        header="id,title,price,availability,condition",
    )

    result = parse(data)

    assert errors_of(result) == [(2, "availability"), (3, "condition")]


def test_every_bad_row_is_listed():
    lines = [f"S{i},Bread,{'abc' if i % 2 else '1 BRL'}" for i in range(1, 8)]

    result = parse(feed_file(*lines))

    assert [e.line for e in result.errors] == [2, 4, 6, 8]


# --- Whole files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"  \r\n\n", "empty"),
        (b"id,title,price\n", "no products"),
        (b"id,title,price\n,,\n\n", "no products"),
        (b"PK\x03\x04\x14\x00\x06\x00", "spreadsheet workbook"),
        (bytes(range(256)) * 8, "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ],
)
def test_files_that_are_not_feeds(data, words):
    result = parse(data)

    assert result.rows == []
    assert len(result.errors) == 1
    assert words in result.errors[0].message


def test_random_bytes_never_raise():
    rng = random.Random(7)
    for _ in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        result = parse(data)
        assert result.errors and not result.ok


def test_a_file_over_5_mb_is_refused_unread():
    data = feed_file("A,Bread,1 BRL") + b"#" * feed.MAX_BYTES

    result = parse(data)

    assert errors_of(result) == [(None, "")]
    assert "limit is 5 MB" in result.errors[0].message


def test_at_most_10000_products_per_file():
    lines = [f"S{i},Bread,1 BRL" for i in range(feed.MAX_ROWS + 1)]

    result = parse(feed_file(*lines))

    assert errors_of(result)[-1] == (feed.MAX_ROWS + 2, "")
    assert "at most 10,000" in result.errors[-1].message


def test_errors_stop_after_a_thousand():
    lines = [f"S{i},Bread,abc" for i in range(1500)]

    result = parse(feed_file(*lines))

    assert len(result.errors) == feed.MAX_ERRORS + 1
    assert "Stopped after" in result.errors[-1].message


# --- The import service: all or nothing -------------------------------------------


BAD_FILES = [
    feed_file("A,Renamed,5 BRL", "B,Cake,abc"),
    feed_file("A,Renamed,5 BRL", "A,Twice,5 BRL"),
    feed_file("A,Renamed,5 BRL", "N,New,5 USD"),
    feed_file("A,Renamed,5 BRL,9 BRL", header="id,title,price,sale_price"),
    b"",
    bytes(range(256)),
    b"id,title\nA,Renamed\n",
]


@pytest.mark.parametrize("data", BAD_FILES)
def test_a_bad_file_changes_nothing(owner, business, data):
    # given a catalog
    make_product(owner, business, retailer_id="A", name="Bread", price=990)
    before = snapshot(business)

    # when a file with a problem is imported
    with pytest.raises(FeedRejected) as exc:
        services.import_feed_file(actor=owner, business=business, filename="x.csv", data=data)

    # then the problems are listed and nothing changed, not even an import record
    assert exc.value.errors
    assert snapshot(business) == before
    assert not ProductImport.objects.exists()


def test_rows_the_model_refuses_reject_the_whole_file(owner, business, monkeypatch):
    # given a row that passes the feed checks but not the model's (a validator added
    # later, say); the first row is fine
    rows = parse(feed_file("A,Fine,1 BRL", "B,Too long,1 BRL", "C,Long too,1 BRL")).rows
    monkeypatch.setattr(Product._meta.get_field("name"), "validators", [MaxLengthValidator(4)])

    with pytest.raises(FeedRejected) as exc:
        services.import_feed(actor=owner, business=business, rows=rows)

    assert [(e.line, e.column) for e in exc.value.errors] == [(3, "title"), (4, "title")]
    assert not business.products.exists()


def test_the_product_limit_counts_new_products(owner, business, monkeypatch):
    make_product(owner, business, retailer_id="A")
    monkeypatch.setattr(services, "MAX_PRODUCTS_PER_BUSINESS", 2)

    # updating A and adding B fits...
    services.import_feed_file(
        actor=owner, business=business, filename="x.csv", data=feed_file("A,a,1 BRL", "B,b,1 BRL")
    )
    # ...adding C does not
    with pytest.raises(AppError) as exc:
        services.import_feed_file(
            actor=owner, business=business, filename="x.csv", data=feed_file("C,c,1 BRL")
        )
    assert exc.value.code == "too_many_products"
    assert business.products.count() == 2


def test_agents_cannot_import(business, agent):
    with pytest.raises(AppError) as exc:
        services.import_feed_file(
            actor=agent, business=business, filename="x.csv", data=feed_file("A,a,1 BRL")
        )

    assert exc.value.code == "forbidden"
    assert not business.products.exists()


def test_imports_stay_in_their_business(owner, business, other):
    make_product(other.owner, other.business, retailer_id="A", name="Theirs")

    services.import_feed_file(
        actor=owner, business=business, filename="x.csv", data=feed_file("A,Mine,1 BRL")
    )

    assert other.business.products.get().name == "Theirs"
    assert business.products.get().name == "Mine"


# --- Large imports: queued for a worker -------------------------------------------


def big_file(n: int, price: str = "1.50 BRL") -> bytes:
    return feed_file(*(f"S{i:05},Product {i},{price}" for i in range(n)))


def test_a_small_file_is_imported_at_once(
    owner, business, django_capture_on_commit_callbacks, monkeypatch
):
    n = services.IMPORT_SYNC_MAX_ROWS
    queued = []
    monkeypatch.setattr(services, "enqueue_on_commit", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_feed_file(
            actor=owner, business=business, filename="small.csv", data=big_file(n)
        )

    assert queued == []
    assert job.status == ProductImport.Status.SUCCEEDED
    assert (job.total_rows, job.processed_rows, job.created_count) == (n, n, n)
    assert business.products.count() == n
    assert job.content == b""


def test_a_large_file_is_queued_then_run_once(
    owner, business, django_capture_on_commit_callbacks, monkeypatch
):
    # given a file over the threshold
    n = services.IMPORT_SYNC_MAX_ROWS + 1
    queued = []
    monkeypatch.setattr("catalog.tasks.run_product_import.delay", queued.append)

    # when it is uploaded, a task is queued after the commit and nothing imported yet
    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_feed_file(
            actor=owner, business=business, filename="big.csv", data=big_file(n)
        )
    assert queued == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.total_rows, job.processed_rows) == ("pending", n, 0)
    assert not business.products.exists()

    # when the worker runs it
    services.run_product_import(import_id=job.pk)

    # then every product is there and the stored file is dropped
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count) == ("succeeded", n, n)
    assert job.started_at and job.finished_at and job.content == b""
    assert business.products.count() == n

    # and a redelivered task does nothing
    Product.objects.filter(retailer_id="S00000").update(name="Edited since")
    services.run_product_import(import_id=job.pk)
    assert Product.objects.get(retailer_id="S00000").name == "Edited since"
    assert business.products.count() == n


def test_a_worker_that_died_mid_import_can_run_it_again(owner, business, monkeypatch):
    monkeypatch.setattr("catalog.tasks.run_product_import.delay", lambda pk: None)
    job = services.import_feed_file(
        actor=owner, business=business, filename="big.csv", data=big_file(300)
    )
    ProductImport.objects.filter(pk=job.pk).update(status="running", processed_rows=120)

    services.run_product_import(import_id=job.pk)

    job.refresh_from_db()
    assert job.status == "succeeded"
    assert business.products.count() == 300


def test_a_queued_import_that_no_longer_fits_fails_and_changes_nothing(
    owner, business, monkeypatch
):
    # given a large import queued while the shop sold in reais
    monkeypatch.setattr("catalog.tasks.run_product_import.delay", lambda pk: None)
    job = services.import_feed_file(
        actor=owner, business=business, filename="big.csv", data=big_file(300)
    )
    # when the shop switches to dollars before the worker gets to it
    type(business).objects.filter(pk=business.pk).update(currency="USD")

    services.run_product_import(import_id=job.pk)

    # then the import fails with a line number per row and imports nothing
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.errors[0] == {
        "line": 2,
        "column": "price",
        "message": "The price is in BRL but this shop sells in USD.",
    }
    assert not business.products.exists()


def test_a_queued_import_fails_when_its_author_lost_the_role(business, admin, monkeypatch):
    monkeypatch.setattr("catalog.tasks.run_product_import.delay", lambda pk: None)
    job = services.import_feed_file(
        actor=admin, business=business, filename="big.csv", data=big_file(300)
    )
    Membership.objects.filter(user=admin, business=business).update(role="agent")

    services.run_product_import(import_id=job.pk)

    job.refresh_from_db()
    assert job.status == "failed"
    assert job.errors == [
        {"line": None, "column": "", "message": "You do not have permission to do that."}
    ]
    assert not business.products.exists()


def test_progress_is_reported_while_checking(owner, business, monkeypatch):
    monkeypatch.setattr("catalog.tasks.run_product_import.delay", lambda pk: None)
    job = services.import_feed_file(
        actor=owner, business=business, filename="big.csv", data=big_file(1200)
    )
    seen = []
    real_parse = feed.parse_feed

    def spy(data, *, currency, on_progress=None):
        def report(n):
            on_progress(n)
            seen.append(ProductImport.objects.get(pk=job.pk).processed_rows)

        return real_parse(data, currency=currency, on_progress=report)

    monkeypatch.setattr(services, "parse_feed", spy)

    services.run_product_import(import_id=job.pk)

    assert seen == [500, 1000]
    job.refresh_from_db()
    assert job.processed_rows == 1200


def test_run_product_import_for_a_missing_import_is_a_no_op(db):
    assert services.run_product_import(import_id=999_999) is None


def test_an_unexpected_error_fails_the_import_and_is_raised(owner, business, monkeypatch):
    from catalog.tasks import run_product_import

    # given a queued import whose save breaks in a way nobody planned for
    monkeypatch.setattr("catalog.tasks.run_product_import.delay", lambda pk: None)
    job = services.import_feed_file(
        actor=owner, business=business, filename="big.csv", data=big_file(300)
    )

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "import_feed", broken)

    # when the task runs, the error is raised for the logs...
    with pytest.raises(RuntimeError):
        run_product_import(job.pk)

    # ...and the merchant's page stops waiting: failed, nothing saved
    job.refresh_from_db()
    assert job.status == "failed"
    assert "error on our side; nothing was saved" in job.errors[0]["message"]
    assert not business.products.exists()
    assert run_product_import(job.pk) == "failed"  # a redelivery does nothing
