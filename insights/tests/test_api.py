"""The campaigns API: the same figures as the pages (from the same selectors), the
same permissions (agents read counts, owners and admins see money and change things,
everyone else gets 404), and bad input refused with a clear message, nothing changed."""

import datetime
import json
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.test import APIClient

from accounts.services import create_api_token
from catalog.tests.factories import make_product
from chats.tests.factories import start_chat
from insights import selectors
from insights.models import AttributionSettings, Campaign, Touch
from insights.tests.factories import attribute, make_automatic, make_campaign, touch
from payments.services import orders, refunds
from payments.tests.factories import card_for, pay

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
MONEY = (
    "gross", "fee", "refunds", "net", "cost", "cost_per_conversation", "cost_per_purchase",
    "roas", "roi",
)  # fmt: skip


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _base(business) -> str:
    return f"/api/v1/businesses/{business.slug}/campaigns/"


@pytest.fixture
def customer(db):
    from accounts.tests.factories import UserFactory
    from payments.services import pins
    from payments.tests.factories import PIN

    user = UserFactory(email="carla@example.com", display_name="Carla")
    pins.set_pin(user=user, pin=PIN, pin_again=PIN)
    return user


@pytest.fixture
def campaign(owner, business):
    return make_campaign(owner, business, name="Flyer", code="flyer", total_cost=5000)


@pytest.fixture
def sale(owner, business, customer, campaign):
    """3 clicks by 2 visitors, a conversation, a payment request of 100.00 paid and
    half refunded: the figures of test_campaigns_figures."""
    touch(campaign, visitor="a" * 32)
    touch(campaign, visitor="a" * 32)
    touch(campaign, visitor="b" * 32)
    conversation = start_chat(business, customer)
    touch(campaign, Touch.Kind.CONVERSATION, conversation=conversation)
    order = orders.create_payment_request(
        actor=owner, conversation=conversation, lines=[{"name": "Bolo", "unit_price": 10000}]
    )
    pay(customer, order, card_for(customer))
    order.refresh_from_db()
    attribute(order, first=campaign, last=campaign, fee=399)
    refunds.refund_order(
        actor=owner, order=order, amount=5000, reason="x", idempotency_key=uuid.uuid4().hex
    )
    return order


def _as_json(figures: selectors.Figures) -> dict:
    """The selector's figures as the API writes them."""
    out = {
        name: getattr(figures, name)
        for name in ("clicks", "visitors", "conversations", "payment_requests", "paid")
    }
    for name in MONEY:
        value = getattr(figures, name)
        out[name] = str(value) if isinstance(value, Decimal) else value
    return out


# --- Reads ------------------------------------------------------------------------------


def test_the_list_has_the_pages_figures(owner, business, campaign, sale):
    # given a campaign with a sale, and an automatic one
    make_automatic(business)
    # when the owner lists the campaigns
    response = _client(owner).get(_base(business))
    # then the figures are the selector's, money included
    assert response.status_code == 200
    body = response.json()
    period = selectors.last_days(business)
    assert (body["start"], body["end"], body["model"]) == (
        period.first.isoformat(), period.last.isoformat(), "last",
    )  # fmt: skip
    rows = list(selectors.list_campaigns(business=business))
    expected = selectors.campaign_figures(
        business=business, campaigns=rows, period=period, model="last"
    )
    assert [r["id"] for r in body["results"]] == [c.pk for c in rows]
    for row in body["results"]:
        assert row["figures"] == _as_json(expected[row["id"]])
    flyer = body["results"][0]
    assert flyer["figures"]["paid"] == 1 and flyer["figures"]["gross"] == 10000
    assert flyer["figures"]["roas"] is not None and "." in flyer["figures"]["roas"]
    assert (flyer["total_cost"], flyer["currency"], flyer["code"]) == (5000, "BRL", "flyer")
    assert body["results"][1]["is_automatic"] is True
    assert body["results"][1]["figures"]["roi"] is None  # no cost: no ratio


def test_a_period_and_a_model(owner, business, campaign, sale):
    # given a custom period and the first-touch model
    today = selectors.last_days(business).last
    start = today - datetime.timedelta(days=3)
    # when listed
    url = f"{_base(business)}?start={start}&end={today}&model=first"
    body = _client(owner).get(url).json()
    # then the figures are those of that period, under that model
    period = selectors.Period(start, today, business.tz)
    expected = selectors.campaign_figures(
        business=business, campaigns=[campaign], period=period, model="first"
    )
    assert (body["start"], body["end"], body["model"]) == (str(start), str(today), "first")
    assert body["results"][0]["figures"] == _as_json(expected[campaign.pk])
    # and a period in the past has none of it (but a total cost overlapping it: none here)
    old = _client(owner).get(f"{_base(business)}?start=2020-01-01&end=2020-01-31").json()
    assert old["results"][0]["figures"]["clicks"] == 0


def test_the_list_costs_the_same_queries_whatever_its_length(owner, business, campaign, sale):
    client = _client(owner)
    with CaptureQueriesContext(connection) as one:
        assert client.get(_base(business)).status_code == 200
    for n in range(5):
        make_campaign(owner, business, name=f"More {n}", cost_mode="daily" if n % 2 else "total")
    make_automatic(business)
    with CaptureQueriesContext(connection) as seven:
        assert len(client.get(_base(business)).json()["results"]) == 7
    assert len(seven) == len(one)


def test_archived_campaigns_are_listed_apart(owner, business, campaign):
    other = make_campaign(owner, business, name="Old")
    client = _client(owner)
    assert client.post(f"{_base(business)}{other.pk}/archive/").status_code == 200
    active = client.get(_base(business)).json()["results"]
    archived = client.get(_base(business) + "?archived=true").json()["results"]
    assert [r["id"] for r in active] == [campaign.pk]
    assert [r["id"] for r in archived] == [other.pk] and archived[0]["archived_at"]
    assert client.get(_base(business) + "?archived=1").json()["results"] == archived


def test_the_detail_has_figures_funnel_links_conversations_and_orders(
    owner, business, campaign, sale
):
    # when the owner reads the campaign
    response = _client(owner).get(f"{_base(business)}{campaign.pk}/", **EN)
    # then it has the page's figures, funnel, links, conversations and orders
    assert response.status_code == 200
    body = response.json()
    period = selectors.last_days(business)
    figures = selectors.campaign_detail(
        business=business, campaign=campaign, period=period, model="last"
    )
    assert body["figures"] == _as_json(figures)
    assert [(s["step"], s["count"]) for s in body["funnel"]] == [
        ("clicks", 3), ("conversations", 1), ("payment_requests", 1), ("paid", 1), ("repeat", 0),
    ]  # fmt: skip
    assert [s["drop"] for s in body["funnel"]] == [None, "67", "0", "0", "100"]
    assert body["funnel"][0]["label"] == "Clicks"
    assert [link["kind"] for link in body["links"]] == ["chat", "shop"]
    assert (
        "ref=flyer" in body["links"][0]["url"] and "utm_campaign=flyer" in body["links"][0]["url"]
    )
    assert body["links"][0]["qr_png"].endswith("link=chat&format=png")
    assert body["conversations"][0]["conversation_id"] == sale.conversation_id
    assert body["orders"] == [
        {
            "order_id": sale.pk, "number": sale.number, "gross": 10000, "currency": "BRL",
            "paid_at": body["orders"][0]["paid_at"],
        }
    ]  # fmt: skip


def test_the_qr_urls_answer(owner, business, campaign):
    # given the links' QR code URLs / when the signed-in owner opens them / then images
    body = _client(owner).get(f"{_base(business)}{campaign.pk}/links/").json()
    browser = Client()
    browser.force_login(owner)
    png = browser.get(body[0]["qr_png"])
    svg = browser.get(body[1]["qr_svg"])
    assert (png.status_code, png["Content-Type"]) == (200, "image/png")
    assert (svg.status_code, svg["Content-Type"]) == (200, "image/svg+xml")
    assert browser.get(body[0]["card"]).status_code == 200


def test_links_with_a_product(owner, business, campaign, other):
    product = make_product(owner, business, name="Bolo de cenoura")
    client = _client(owner)
    body = client.get(f"{_base(business)}{campaign.pk}/links/?product={product.pk}", **EN).json()
    assert [link["kind"] for link in body] == ["chat", "shop", "product"]
    assert body[2]["product_id"] == product.pk and f"/{product.pk}" in body[2]["url"]
    assert body[2]["qr_svg"].endswith(f"link=product&product={product.pk}&format=svg")
    # another shop's product, a hidden one, or not a number: a clear 400
    theirs = make_product(other.owner, other.business)
    hidden = make_product(owner, business, is_active=False)
    for value in (theirs.pk, hidden.pk, "abc", 10**30):
        response = client.get(f"{_base(business)}{campaign.pk}/links/?product={value}", **EN)
        assert response.status_code == 400, value
        assert "product" in json.dumps(response.json())


def test_an_automatic_campaign_has_no_links(owner, business):
    auto = make_automatic(business)
    assert _client(owner).get(f"{_base(business)}{auto.pk}/links/").json() == []


def test_bad_periods_are_400(owner, business, campaign):
    client = _client(owner)
    for query, field in (
        ("start=2026-03-02&end=2026-03-01", "end"),
        ("start=2026-03-01", "end"),
        ("end=2026-03-01", "start"),
        ("start=2026-02-30&end=2026-03-01", "start"),
        ("start=01/03/2026&end=2026-03-05", "start"),
        ("start=1900-01-01&end=1900-01-02", "start"),
        ("start=2020-01-01&end=2026-01-01", "end"),
        ("model=middle", "model"),
        ("archived=maybe", "archived"),
    ):
        urls = [_base(business)]
        if "archived" not in query:
            urls.append(f"{_base(business)}{campaign.pk}/")
        for url in urls:
            response = client.get(f"{url}?{query}", **EN)
            assert response.status_code == 400, query
            assert field in response.json(), query
    message = client.get(f"{_base(business)}?start=2026-03-02&end=2026-03-01", **EN).json()
    assert message["end"] == ["The end date is before the start date."]


# --- Permissions ------------------------------------------------------------------------


def test_agents_see_counts_not_money(agent, business, campaign, sale):
    client = _client(agent)
    row = client.get(_base(business)).json()["results"][0]
    assert row["figures"]["clicks"] == 3 and row["figures"]["paid"] == 1
    assert all(row["figures"][name] is None for name in MONEY)
    assert row["total_cost"] is None
    detail = client.get(f"{_base(business)}{campaign.pk}/").json()
    assert all(detail["figures"][name] is None for name in MONEY)
    assert detail["total_cost"] is None and detail["orders"][0]["gross"] is None
    assert [link["kind"] for link in detail["links"]] == ["chat", "shop"]
    assert client.get(f"{_base(business)}{campaign.pk}/links/").status_code == 200


def _writes(business, campaign, line_id=1):
    one = f"{_base(business)}{campaign.pk}/"
    return [
        ("post", _base(business), {"name": "X"}),
        ("patch", one, {"name": "X"}),
        ("post", one + "archive/", {}),
        ("post", one + "unarchive/", {}),
        ("post", one + "rename/", {"name": "X"}),
        ("post", one + "merge/", {"into": campaign.pk}),
        ("get", one + "spend/", None),
        ("post", one + "spend/", {"day": "2026-03-01", "amount": 100}),
        ("patch", f"{one}spend/{line_id}/", {"amount": 1}),
        ("delete", f"{one}spend/{line_id}/", None),
        ("get", f"/api/v1/businesses/{business.slug}/attribution-window/", None),
        ("put", f"/api/v1/businesses/{business.slug}/attribution-window/", {"window_days": 1}),
    ]


def _unchanged(campaign, name="Flyer"):
    campaign.refresh_from_db()
    assert campaign.name == name and campaign.archived_at is None
    assert not AttributionSettings.objects.exists()


def test_agents_cannot_change_anything(agent, owner, business, campaign):
    from insights.services import spend

    daily = make_campaign(owner, business, name="Daily", cost_mode="daily")
    line = spend.add_spend_line(
        actor=owner, campaign=daily, day=datetime.date(2026, 3, 1), amount=5
    )
    client = _client(agent)
    for method, url, data in _writes(business, daily, line.pk):
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 404, (method, url)
    assert Campaign.objects.count() == 2
    _unchanged(campaign)
    line.refresh_from_db()
    assert line.amount == 5


def test_outsiders_and_other_businesses_get_404(outsider, other, business, campaign):
    for user in (outsider, other.owner):
        client = _client(user)
        assert client.get(_base(business)).status_code == 404
        assert client.get(f"{_base(business)}{campaign.pk}/").status_code == 404
        for method, url, data in _writes(business, campaign):
            response = getattr(client, method)(url, data, format="json")
            assert response.status_code == 404, (method, url)
    # another business's campaign id under the user's own business
    client = _client(other.owner)
    mine = _base(other.business)
    for url in (f"{mine}{campaign.pk}/", f"{mine}{campaign.pk}/links/"):
        assert client.get(url).status_code == 404
    for method, url, data in _writes(other.business, campaign):
        if "attribution-window" in url or url == mine:
            continue
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 404, (method, url)
    assert client.get(f"{mine}{10**30}/").status_code == 404
    _unchanged(campaign)


def test_anonymous_is_401_and_a_token_works(owner, business, campaign):
    assert APIClient().get(_base(business)).status_code == 401
    raw = create_api_token(user=owner, name="script")[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(_base(business)).status_code == 200
    response = client.post(_base(business), {"name": "From a script"}, format="json")
    assert response.status_code == 201


# --- Writes -----------------------------------------------------------------------------


def test_create_update_archive(admin, business):
    client = _client(admin)
    response = client.post(
        _base(business),
        {
            "name": "Verão", "channel": "instagram", "starts_on": "2026-03-01",
            "ends_on": "2026-03-31", "total_cost": 5000, "link_text": "Oi!",
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["code"], body["total_cost"], body["utm_medium"]) == ("verao", 5000, "social")
    assert body["figures"]["clicks"] == 0 and "text=Oi%21" in body["links"][0]["url"]
    one = f"{_base(business)}{body['id']}/"
    # a PATCH changes only what it sends
    response = client.patch(one, {"cost_mode": "daily", "code": "verao-26"}, format="json")
    assert response.status_code == 200, response.json()
    campaign = Campaign.objects.get()
    assert (campaign.name, campaign.cost_mode, campaign.code) == ("Verão", "daily", "verao-26")
    assert (campaign.total_cost, campaign.link_text, campaign.starts_on) == (
        5000, "Oi!", datetime.date(2026, 3, 1),
    )  # fmt: skip
    assert client.patch(one, {"starts_on": None}, format="json").json()["starts_on"] is None
    # archive and bring back
    assert client.post(one + "archive/").json()["archived_at"]
    assert client.post(one + "unarchive/").json()["archived_at"] is None


def test_bad_campaign_input_changes_nothing(owner, business, campaign):
    client = _client(owner)
    before = Campaign.objects.count()
    cases = [
        ({"name": "A", "total_cost": -1}, "total_cost"),
        ({"name": "A", "total_cost": 10**13}, "total_cost"),
        ({"name": "A", "total_cost": 12.5}, "total_cost"),
        ({"name": "A", "total_cost": "50,00"}, "total_cost"),
        ({"name": "A", "total_cost": True}, "total_cost"),
        ({"name": "A", "starts_on": "2026-03-02", "ends_on": "2026-03-01"}, "ends_on"),
        ({"name": "A", "starts_on": "20266-01-01"}, "starts_on"),
        ({"name": "A", "starts_on": "1850-01-01"}, "starts_on"),
        ({"name": "A", "code": "flyer"}, "code"),
        ({"name": "A", "code": "FLYER"}, "code"),
        ({"name": "A", "code": "<b>x</b>"}, "code"),
        ({"name": "A", "code": "auto-x"}, "code"),
        ({"name": "A", "code": "a b"}, "code"),
        ({"name": "A", "code": "x" * 41}, "code"),
        ({"name": "<script>alert(1)</script>"}, "name"),
        ({"name": "a\x07b"}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": ""}, "name"),
        ({"name": ["A"]}, "name"),
        ({}, "name"),
        ({"name": "A", "channel": "myspace"}, "channel"),
        ({"name": "A", "cost_mode": "hourly"}, "cost_mode"),
        ({"name": "A", "utm_source": "x" * 10_000}, "utm_source"),
        ({"name": "A", "utm_source": "a\nb"}, "utm_source"),
        ({"name": "A", "link_text": "<img src=x onerror=alert(1)>"}, "link_text"),
    ]
    for data, field in cases:
        response = client.post(_base(business), data, format="json", **EN)
        assert response.status_code == 400, data
        body = response.json()
        assert field in body or body.get("field") == field, (data, body)
        assert "detail" in body or all(isinstance(v, list) for v in body.values())
    assert Campaign.objects.count() == before
    taken = client.post(_base(business), {"name": "A", "code": "flyer"}, format="json", **EN)
    assert taken.json() == {
        "code": "code_taken",
        "detail": "Another campaign of this business already uses that code.",
        "field": "code",
    }
    negative = client.post(_base(business), {"name": "A", "total_cost": -1}, format="json", **EN)
    assert negative.json() == {"total_cost": ["Ensure this value is greater than or equal to 0."]}
    # a PATCH that would end before the start, or take a taken code: nothing changes
    other = make_campaign(owner, business, name="Other", code="other")
    one = f"{_base(business)}{campaign.pk}/"
    assert client.patch(one, {"code": "other"}, format="json").status_code == 400
    client.patch(one, {"starts_on": "2026-03-10"}, format="json")
    bad = client.patch(one, {"ends_on": "2026-03-01", "name": "Changed"}, format="json", **EN)
    assert bad.status_code == 400 and bad.json()["code"] == "ends_before_start"
    campaign.refresh_from_db()
    assert (campaign.code, campaign.name, campaign.ends_on) == ("flyer", "Flyer", None)
    other.refresh_from_db()
    assert other.code == "other"
    # a malformed body
    response = client.generic("POST", _base(business), "{not json", content_type="application/json")
    assert response.status_code == 400


def test_the_code_cannot_change_once_used(owner, business, campaign):
    touch(campaign)
    response = _client(owner).patch(
        f"{_base(business)}{campaign.pk}/", {"code": "new"}, format="json", **EN
    )
    assert response.status_code == 400 and response.json()["code"] == "code_in_use"
    campaign.refresh_from_db()
    assert campaign.code == "flyer"


def test_rename_and_merge_an_automatic_campaign(owner, business, campaign, other):
    auto = make_automatic(business)
    touch(auto)
    client = _client(owner)
    one = f"{_base(business)}{auto.pk}/"
    # an automatic campaign is renamed or merged, not edited
    response = client.patch(one, {"name": "Newsletter"}, format="json", **EN)
    assert response.status_code == 400 and response.json()["code"] == "automatic_campaign"
    response = client.post(one + "rename/", {"name": "Newsletter"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Newsletter"
    # bad merges change nothing
    theirs = make_campaign(other.owner, other.business, name="Theirs")
    for into, status_code in ((theirs.pk, 404), (auto.pk, 400), ("1", 400), (None, 400)):
        response = client.post(one + "merge/", {"into": into}, format="json")
        assert response.status_code == status_code, into
    not_auto = client.post(
        f"{_base(business)}{campaign.pk}/merge/", {"into": campaign.pk}, format="json"
    )
    assert not_auto.status_code == 400 and not_auto.json()["code"] == "not_automatic"
    assert Touch.objects.get().campaign_id == auto.pk
    # the merge
    response = client.post(one + "merge/", {"into": campaign.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["id"] == campaign.pk and response.json()["figures"]["clicks"] == 1
    auto.refresh_from_db()
    assert auto.merged_into_id == campaign.pk and auto.archived_at
    assert client.post(one + "unarchive/").json()["code"] == "merged_campaign"


def test_the_attribution_window(owner, business):
    client = _client(owner)
    url = f"/api/v1/businesses/{business.slug}/attribution-window/"
    assert client.get(url).json() == {"window_days": 7}
    assert client.put(url, {"window_days": 28}, format="json").json() == {"window_days": 28}
    assert client.get(url).json() == {"window_days": 28}
    for bad in (3, "x", None, 7.5, [7]):
        response = client.put(url, {"window_days": bad}, format="json")
        assert response.status_code == 400, bad
        assert "window_days" in response.json()
    assert AttributionSettings.objects.get().window_days == 28


# --- The schema -------------------------------------------------------------------------


def test_every_endpoint_is_in_the_schema():
    with translation.override("en"):
        schema = SchemaGenerator().get_schema(request=None, public=True)
    spec = json.loads(OpenApiJsonRenderer().render(schema))
    base = "/api/v1/businesses/{slug}/"
    one = base + "campaigns/{campaign_id}/"
    expected = {
        base + "campaigns/": {"get", "post"},
        base + "campaigns/spend-import/": {"post"},
        one: {"get", "patch"},
        one + "archive/": {"post"},
        one + "unarchive/": {"post"},
        one + "rename/": {"post"},
        one + "merge/": {"post"},
        one + "links/": {"get"},
        one + "spend/": {"get", "post"},
        one + "spend/{line_id}/": {"patch", "delete"},
        base + "attribution-window/": {"get", "put"},
    }
    for path, methods in expected.items():
        assert set(spec["paths"][path]) == methods, path
        for method in methods:
            operation = spec["paths"][path][method]
            assert operation["summary"] and operation["tags"][0].startswith("insights")
            assert {"200", "201", "204"} & set(operation["responses"]), (path, method)
    figures = spec["components"]["schemas"]["Figures"]["properties"]
    assert figures["roi"]["type"] == "string" and figures["roi"]["nullable"] is True
    assert figures["net"]["type"] == "integer"
