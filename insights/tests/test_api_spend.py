"""The campaigns API's spend lines and CSV import: the services' rules (one line a day,
amounts in range, all or nothing, every bad line listed), through the API."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from insights import selectors
from insights.models import SpendLine
from insights.services import spend
from insights.tests.factories import make_automatic, make_campaign

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
D = datetime.date


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def daily(owner, business):
    return make_campaign(owner, business, name="Summer sale", code="summer", cost_mode="daily")


def _spend(business, campaign) -> str:
    return f"/api/v1/businesses/{business.slug}/campaigns/{campaign.pk}/spend/"


def _import_url(business) -> str:
    return f"/api/v1/businesses/{business.slug}/campaigns/spend-import/"


def _upload(client, business, content: bytes, **data):
    file = SimpleUploadedFile("spend.csv", content, content_type="text/csv")
    return client.post(_import_url(business), {"file": file, **data}, format="multipart", **EN)


# --- Lines by hand ----------------------------------------------------------------------


def test_add_list_change_and_delete_lines(admin, business, daily):
    client = _client(admin)
    url = _spend(business, daily)
    response = client.post(url, {"day": "2026-03-01", "amount": 1990}, format="json")
    assert response.status_code == 201, response.json()
    line = response.json()
    assert (line["day"], line["amount"], line["currency"], line["source"]) == (
        "2026-03-01", 1990, "BRL", "manual",
    )  # fmt: skip
    client.post(url, {"day": "2026-03-02", "amount": 10}, format="json")
    listed = client.get(url).json()
    assert [row["day"] for row in listed] == ["2026-03-02", "2026-03-01"]
    # a PATCH changes what it sends
    response = client.patch(f"{url}{line['id']}/", {"amount": 500}, format="json")
    assert response.status_code == 200 and response.json()["amount"] == 500
    assert SpendLine.objects.get(pk=line["id"]).day == D(2026, 3, 1)
    # the cost the figures count is the lines' sum
    period = selectors.Period(D(2026, 3, 1), D(2026, 3, 31), business.tz)
    figures = selectors.campaign_figures(
        business=business, campaigns=[daily], period=period, model="last"
    )
    assert figures[daily.pk].cost == 510
    body = client.get(
        f"/api/v1/businesses/{business.slug}/campaigns/?start=2026-03-01&end=2026-03-31"
    ).json()
    assert body["results"][0]["figures"]["cost"] == 510
    # delete
    assert client.delete(f"{url}{line['id']}/").status_code == 204
    assert list(SpendLine.objects.values_list("amount", flat=True)) == [10]


def test_bad_lines_change_nothing(owner, business, daily, other):
    client = _client(owner)
    url = _spend(business, daily)
    line = client.post(url, {"day": "2026-03-01", "amount": 100}, format="json").json()
    cases = [
        ({"day": "2026-03-01", "amount": 5}, "day"),  # a line for that day exists
        ({"day": "2026-03-02", "amount": -1}, "amount"),
        ({"day": "2026-03-02", "amount": 10**13}, "amount"),
        ({"day": "2026-03-02", "amount": 1.5}, "amount"),
        ({"day": "2026-03-02", "amount": "1.234,56"}, "amount"),
        ({"day": "2026-03-02", "amount": None}, "amount"),
        ({"day": "2026-03-02"}, "amount"),
        ({"day": "02/03/2026", "amount": 1}, "day"),
        ({"day": "1850-03-02", "amount": 1}, "day"),
        ({"day": ["2026-03-02"], "amount": 1}, "day"),
    ]
    for data, field in cases:
        response = client.post(url, data, format="json", **EN)
        assert response.status_code == 400, data
        body = response.json()
        assert field in body or body.get("field") == field, (data, body)
    taken = client.post(url, {"day": "2026-03-01", "amount": 5}, format="json", **EN).json()
    assert taken["code"] == "day_taken" and "change it instead" in taken["detail"]
    client.post(url, {"day": "2026-03-05", "amount": 1}, format="json")
    moved = client.patch(f"{url}{line['id']}/", {"day": "2026-03-05"}, format="json", **EN)
    assert moved.status_code == 400 and moved.json()["code"] == "day_taken"
    assert client.patch(f"{url}{line['id']}/", {"amount": -5}, format="json").status_code == 400
    assert sorted(SpendLine.objects.values_list("day", "amount")) == [
        (D(2026, 3, 1), 100), (D(2026, 3, 5), 1),
    ]  # fmt: skip
    # another campaign's line id, and another business's campaign: 404
    second = make_campaign(owner, business, name="Second", cost_mode="daily")
    assert client.delete(f"{_spend(business, second)}{line['id']}/").status_code == 404
    theirs = make_campaign(other.owner, other.business, name="Theirs", cost_mode="daily")
    assert client.get(_spend(business, theirs)).status_code == 404
    assert (
        client.post(_spend(business, theirs), {"day": "2026-03-09", "amount": 1}).status_code == 404
    )
    assert SpendLine.objects.count() == 2


def test_an_automatic_campaign_takes_no_spend(owner, business):
    auto = make_automatic(business)
    response = _client(owner).post(
        _spend(business, auto), {"day": "2026-03-01", "amount": 1}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "automatic_campaign"
    assert not SpendLine.objects.exists()


# --- CSV import -------------------------------------------------------------------------


def test_import_a_meta_export_in_pt_br(owner, business, daily):
    content = (
        b"Nome da campanha;Dia;Valor usado (BRL)\n"
        b"Summer sale;2026-03-01;1.234,56\n"
        b"summer;02/03/2026;10,00\n"
    )
    response = _upload(_client(owner), business, content, numbers="pt-br")
    assert response.status_code == 201, response.json()
    assert response.json() == {"lines": 2, "campaigns": 1, "total": 124456, "currency": "BRL"}
    assert sorted(SpendLine.objects.values_list("day", "amount", "source")) == [
        (D(2026, 3, 1), 123456, "import"), (D(2026, 3, 2), 1000, "import"),
    ]  # fmt: skip


def test_every_bad_line_is_listed_and_nothing_saved(owner, business, daily):
    spend.add_spend_line(actor=owner, campaign=daily, day=D(2026, 3, 1), amount=7)
    content = (
        b"date,campaign,amount\n"
        b"2026-03-01,summer,5.00\n"
        b'2026-03-02,=HYPERLINK("http://x"),1.00\n'
        b"2026-13-40,summer,1.00\n"
        b"2026-03-03,nobody,1.00\n"
        b"2026-03-04,summer,-3.00\n"
        b"2026-03-05,summer,abc\n"
    )
    response = _upload(_client(owner), business, content, numbers="en")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad_lines" and body["field"] == "file" and body["more"] == 0
    assert body["detail"] == "Nothing was imported: fix these lines and try again."
    assert [p["line"] for p in body["problems"]] == [3, 4, 5, 6, 7]
    assert "formula" in body["problems"][0]["reason"]
    assert "not a date" in body["problems"][1]["reason"]
    assert "no campaign named" in body["problems"][2]["reason"]
    assert list(SpendLine.objects.values_list("amount", flat=True)) == [7]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("date,campaign,amount\n2026-03-01,summer,1.00\n".encode("utf-16"), "file_encoding"),
        ("data,campanha,valor\n2026-03-01,Verão,1,00\n".encode("latin-1"), "file_encoding"),
        (b"date,campaign,amount\n\n", "file_empty"),
        (b"what,ever\n1,2\n", "no_header"),
        (b"date,campaign,amount (USD)\n2026-03-01,summer,1.00\n", "wrong_currency"),
    ],
)
def test_a_refused_file_says_why(owner, business, daily, content, code):
    response = _upload(_client(owner), business, content, numbers="en")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code and body["problems"] == [] and body["detail"]
    assert not SpendLine.objects.exists()


def test_the_import_needs_a_file_and_an_admin(owner, agent, business, daily, other):
    client = _client(owner)
    missing = client.post(_import_url(business), {"numbers": "en"}, format="multipart", **EN)
    assert missing.status_code == 400 and "file" in missing.json()
    empty = _upload(client, business, b"")
    assert empty.status_code == 400 and empty.json() == {"file": ["The submitted file is empty."]}
    not_a_file = client.post(_import_url(business), {"file": "x"}, format="multipart")
    assert not_a_file.status_code == 400
    json_body = client.post(_import_url(business), {"file": "x"}, format="json")
    assert json_body.status_code == 415
    bad_numbers = _upload(client, business, b"date,campaign,amount\n", numbers="de")
    assert bad_numbers.status_code == 400 and "numbers" in bad_numbers.json()
    content = b"date,campaign,amount\n2026-03-01,summer,1.00\n"
    assert _upload(_client(agent), business, content).status_code == 404
    assert _upload(_client(other.owner), business, content).status_code == 404
    assert not SpendLine.objects.exists()
