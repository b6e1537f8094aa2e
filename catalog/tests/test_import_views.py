"""The import and export pages: who may use them, what a merchant sees for good and
bad files (never a 500), the progress of a large import, and one large import run by
a real Celery worker."""

import csv
import io
import re

import pytest
from django.urls import reverse

from accounts.models import Membership
from accounts.tests.factories import UserFactory, create_business
from catalog import feed, services
from catalog.models import Product, ProductImport
from catalog.tests.factories import feed_file
from core.tests import uploads
from tests.celery_fixtures import TASK_TIMEOUT, wait_for

ROLE = Membership.Role


def signed_in(client, user):
    client.force_login(user)
    return client


def import_url(business) -> str:
    return reverse("catalog_import", kwargs={"slug": business.slug})


def export_url(business) -> str:
    return reverse("catalog_export", kwargs={"slug": business.slug})


def status_url(job) -> str:
    return reverse("catalog_import_status", kwargs={"slug": job.business.slug, "import_id": job.pk})


def upload(data: bytes, name: str = "catalog.csv"):
    return uploads.upload(data, name, content_type="text/csv")


def big_file(n: int) -> bytes:
    return feed_file(*(f"S{i:05},Product {i},{i % 90 + 1}.90 BRL" for i in range(n)))


def snapshot(business) -> list[tuple]:
    return list(business.products.order_by("pk").values_list("retailer_id", "name", "price"))


# --- Permissions ------------------------------------------------------------------


def test_signed_out_visitors_go_to_sign_in(client, business):
    for url in (import_url(business), export_url(business)):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]


def test_outsiders_and_other_businesses_get_not_found(client, business, owner, other):
    job = services.import_feed_file(
        actor=owner, business=business, filename="x.csv", data=feed_file("A,a,1 BRL")
    )
    for user in (UserFactory(), other.owner):
        c = signed_in(client, user)
        assert c.get(import_url(business)).status_code == 404
        assert (
            c.post(import_url(business), {"file": upload(feed_file("B,b,1 BRL"))}).status_code
            == 404
        )
        assert c.get(export_url(business)).status_code == 404
        assert c.get(status_url(job)).status_code == 404
    assert snapshot(business) == [("A", "a", 100)]


def test_an_import_of_another_business_is_not_found_under_mine(client, business, owner, other):
    theirs = create_business(owner=UserFactory(), name="Terceira", slug="terceira")
    job = services.import_feed_file(
        actor=theirs.memberships.get().user,
        business=theirs,
        filename="x.csv",
        data=feed_file("A,a,1 BRL"),
    )

    response = signed_in(client, owner).get(
        reverse("catalog_import_status", kwargs={"slug": business.slug, "import_id": job.pk})
    )

    assert response.status_code == 404


def test_agents_can_export_but_not_import(client, business, agent):
    c = signed_in(client, agent)

    assert c.get(export_url(business)).status_code == 200
    assert c.get(import_url(business)).status_code == 404
    assert c.post(import_url(business), {"file": upload(feed_file("A,a,1 BRL"))}).status_code == 404
    assert not business.products.exists()


def test_admins_can_import(client, business, admin):
    response = signed_in(client, admin).post(
        import_url(business), {"file": upload(feed_file("A,a,1 BRL"))}
    )

    assert response.status_code == 302
    assert business.products.get().retailer_id == "A"


# --- Export -----------------------------------------------------------------------


def test_export_is_a_utf8_bom_csv_attachment(client, business, owner):
    services.create_product(
        actor=owner, business=business, name="Pão de queijo", retailer_id="PQ-1", price=1990
    )
    services.create_product(
        actor=owner, business=business, name='=HYPERLINK("x")', retailer_id="@A", price=100
    )

    response = signed_in(client, owner).get(export_url(business))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="padaria-central-catalog-\d{4}-\d{2}-\d{2}\.csv"',
        response["Content-Disposition"],
    )
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [(r["id"], r["title"], r["price"]) for r in rows] == [
        ("PQ-1", "Pão de queijo", "19.90 BRL"),
        ("'@A", '\'=HYPERLINK("x")', "1.00 BRL"),
    ]


def test_an_exported_file_uploads_back_without_duplicates(client, business, owner):
    for i in range(3):
        services.create_product(
            actor=owner, business=business, name=f"P{i}", retailer_id=f"-{i}", price=100 + i
        )
    c = signed_in(client, owner)
    exported = c.get(export_url(business)).content

    response = c.post(import_url(business), {"file": upload(exported)}, follow=True)

    assert response.status_code == 200
    assert business.products.count() == 3
    assert "0 new, 0 updated, 3 unchanged" in response.content.decode()


# --- Import page ------------------------------------------------------------------


def test_the_import_page_explains_the_rules(client, business, owner):
    response = signed_in(client, owner).get(import_url(business))

    assert response.status_code == 200
    page = response.content.decode()
    assert '<label for="import-file">' in page
    assert 'id="import-file" name="file"' in page
    assert "All or nothing:" in page
    assert "nothing is imported" in page
    for column in feed.COLUMNS:
        assert f"<code>{column}</code>" in page
    assert export_url(business) in page
    # strict CSP: nothing inline
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert " style=" not in page and "<style" not in page


def test_a_good_small_file_is_imported_at_once(client, business, owner):
    data = "id;title;price;gtin\nPQ-1;Pão de queijo;19.90 BRL;789\n".encode("cp1252")

    response = signed_in(client, owner).post(
        import_url(business), {"file": upload(data, "padaria.csv")}, follow=True
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Imported: 1 new, 0 updated, 0 unchanged." in page
    assert "<code>gtin</code>" in page  # the column that was not read
    assert "hx-trigger" not in page
    job = ProductImport.objects.get()
    assert (job.status, job.filename, job.created_by) == ("succeeded", "padaria.csv", owner)
    assert business.products.get().name == "Pão de queijo"


BAD_UPLOADS = {
    "bad prices": (
        feed_file("A,Bread,19.90 BRL", '"B","Cake","19,90 BRL"', "C,Pie,0 BRL", "D,Tart,9 USD"),
        ["<td>3</td>", "<td>4</td>", "<td>5</td>", "Use a dot for decimals", "more than zero"],
    ),
    "duplicate ids": (
        feed_file("A,Bread,1 BRL", "A,Cake,1 BRL"),
        ["<td>3</td>", "already used on line 2"],
    ),
    "missing columns": (b"sku,name\nA,Bread\n", ["<td>1</td>", "missing: id, title, price"]),
    "empty": (b"", ["The file is empty."]),
    "binary": (bytes(range(256)) * 4, ["not a CSV file"]),
    "workbook": (b"PK\x03\x04" + bytes(100), ["spreadsheet workbook"]),
    "unclosed quote": (b'id,title,price\nA,"Bread,1 BRL\n', ["quote"]),
}


@pytest.mark.parametrize("case", BAD_UPLOADS)
def test_a_bad_file_lists_its_problems_and_changes_nothing(client, business, owner, case):
    # given a catalog with one product
    services.create_product(actor=owner, business=business, name="A", retailer_id="A", price=500)
    before = snapshot(business)
    data, expected = BAD_UPLOADS[case]

    # when a bad file is uploaded
    response = signed_in(client, owner).post(import_url(business), {"file": upload(data)})

    # then the page says nothing was imported and why, line by line
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported: fix the problems listed" in page
    assert 'aria-invalid="true"' in page
    for words in expected:
        assert words in page
    assert snapshot(business) == before
    assert not ProductImport.objects.exists()


def test_no_file_is_a_clear_error(client, business, owner):
    response = signed_in(client, owner).post(import_url(business), {})

    assert response.status_code == 400
    assert "Choose a CSV file to import." in response.content.decode()


def test_a_file_over_5_mb_is_refused_before_reading(client, business, owner, monkeypatch):
    data = feed_file("A,Bread,1 BRL") + b"#" * (feed.MAX_BYTES + 1)
    monkeypatch.setattr(
        services, "parse_feed", lambda *a, **k: pytest.fail("a huge file must not be parsed")
    )

    response = signed_in(client, owner).post(import_url(business), {"file": upload(data)})

    assert response.status_code == 400
    assert "the limit is 5 MB" in response.content.decode()
    assert not business.products.exists()


def test_too_many_rows_is_a_clear_error(client, business, owner):
    data = big_file(feed.MAX_ROWS + 1)

    response = signed_in(client, owner).post(import_url(business), {"file": upload(data)})

    assert response.status_code == 400
    assert "at most 10,000 products" in response.content.decode()
    assert not business.products.exists()


# --- Large imports: progress ------------------------------------------------------


def test_a_large_import_shows_progress_until_done(
    client, business, owner, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("catalog.tasks.run_product_import.delay", queued.append)
    c = signed_in(client, owner)
    n = services.IMPORT_SYNC_MAX_ROWS + 50

    # when a large file is uploaded, the merchant lands on its status page
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(import_url(business), {"file": upload(big_file(n), "big.csv")})
    job = ProductImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == status_url(job)
    assert queued == [job.pk]

    # which polls while the import waits...
    page = c.get(status_url(job)).content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert f'hx-get="{status_url(job)}"' in page
    assert "<progress" in page
    assert f"Waiting to start: {n} products." in page

    # ...shows how far the check got while it runs (HTMX gets the fragment only)...
    ProductImport.objects.filter(pk=job.pk).update(status="running", processed_rows=100)
    fragment = c.get(status_url(job), headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<div id="import-progress"')
    assert "<html" not in fragment
    assert f'<progress value="100" max="{n}"' in fragment
    assert f"Checked 100 of {n} products" in fragment

    # ...and stops polling once it is done
    services.run_product_import(import_id=job.pk)
    fragment = c.get(status_url(job), headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in fragment
    assert f"Imported: {n} new, 0 updated, 0 unchanged." in fragment
    assert business.products.count() == n


def test_a_failed_large_import_lists_its_problems(client, business, owner, monkeypatch):
    monkeypatch.setattr("catalog.tasks.run_product_import.delay", lambda pk: None)
    job = services.import_feed_file(
        actor=owner, business=business, filename="big.csv", data=big_file(300)
    )
    type(business).objects.filter(pk=business.pk).update(currency="EUR")
    services.run_product_import(import_id=job.pk)

    page = signed_in(client, owner).get(status_url(job)).content.decode()

    assert "Nothing was imported" in page
    assert "The price is in BRL but this shop sells in EUR." in page
    assert "hx-trigger" not in page
    assert not business.products.exists()


def test_recent_imports_are_listed(client, business, owner):
    job = services.import_feed_file(
        actor=owner, business=business, filename="first.csv", data=feed_file("A,a,1 BRL")
    )

    page = signed_in(client, owner).get(import_url(business)).content.decode()

    assert f'href="{status_url(job)}">first.csv</a>' in page


# --- A real worker ----------------------------------------------------------------


def test_a_real_worker_imports_a_large_file(celery_worker, client):
    # given a merchant with one product already in the catalog
    owner = UserFactory()
    business = create_business(owner=owner, name="Loja Grande", slug="loja-grande")
    services.create_product(
        actor=owner, business=business, name="Old", retailer_id="S00000", price=1
    )
    n = services.IMPORT_SYNC_MAX_ROWS * 3
    c = signed_in(client, owner)

    # when a file above the threshold is uploaded
    response = c.post(import_url(business), {"file": upload(big_file(n), "big.csv")})
    job = ProductImport.objects.get()
    assert response.status_code == 302

    # then the worker imports it while the page polls, and the page stops polling
    def finished() -> bool:
        return (
            "hx-trigger"
            not in c.get(status_url(job), headers={"HX-Request": "true"}).content.decode()
        )

    done = wait_for(finished, TASK_TIMEOUT + 20, interval=0.5)
    log = celery_worker.read_text(errors="replace")
    assert done, f"the worker did not finish the import:\n{log[-4000:]}"
    job.refresh_from_db()
    assert job.status == "succeeded", job.errors
    assert (job.created_count, job.updated_count, job.processed_rows) == (n - 1, 1, n)
    assert Product.objects.filter(business=business).count() == n
    assert Product.objects.get(business=business, retailer_id="S00000").name == "Product 0"
    assert "catalog.tasks.run_product_import" in log
