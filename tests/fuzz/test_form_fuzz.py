"""Every page of the site (but Django admin, allauth's and the API's), opened and sent
hostile forms by the shop's owner, one of its agents, a customer and a stranger: never
a server error.

The URLs come from the URL patterns, their ids from a world with a shop, a product, a
chat, a payment request, a card and a PIN (1 where the name says nothing more); each
page is fetched, and each form on it (and the page itself, as a POST and with the list
pages' query parameters) is sent back with every field filled with one hostile value
after another (empty, oversized, out of range, markup, a NUL, a card number, another
business's id)."""

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from django.contrib import admin as django_admin
from django.urls import URLResolver, get_resolver, reverse

from accounts.services import create_business
from accounts.tests.factories import UserFactory
from catalog.tests.factories import make_product
from payments.tests.factories import SALE_EMAIL, SALE_TEXT, sale_in_chat

pytestmark = pytest.mark.fuzz

SKIP = re.compile(r"^(admin/|api/|accounts/|i18n/|media/|static/)|logout|bare$")
HOSTILE = [
    "",
    "x" * 20_000,
    "-1",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "<script>alert(1)</script>",
    "a\x00b",
    "4242 4242 4242 4242",
    "../../etc/passwd",
    "😀" * 300,
]


# What a stranger must never see: the chat's text, the customer's e-mail address.
PRIVATE = (SALE_TEXT, SALE_EMAIL)


def _routes():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    routes = walk(get_resolver().url_patterns)
    return sorted({r for r in routes if not r.startswith("^") and not SKIP.search(r)})


class _Forms(HTMLParser):
    """The forms of a page: ``[(method, action, {field: value})]``."""

    def __init__(self):
        super().__init__()
        self.forms, self.current = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            method = (attrs.get("method") or "get").lower()
            self.current = (method, attrs.get("action") or "", {})
            self.forms.append(self.current)
        elif (
            tag in ("input", "select", "textarea", "button") and self.current and attrs.get("name")
        ):
            self.current[2][attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


@pytest.fixture
def world(owner, business, agent):
    sale = sale_in_chat(owner, business)
    ids = {
        "slug": business.slug,
        "product_id": sale.product.pk,
        "conversation_id": sale.conversation.pk,
        "message_id": sale.message.pk,
        "order_id": sale.order.pk,
        "card_id": sale.card.pk,
        "pk": 1,
    }
    rival = UserFactory()
    rivals = create_business(user=rival, name="Rival", slug="rival")
    hostile = [*HOSTILE, str(make_product(rival, rivals, name="Theirs").pk)]
    users = {"owner": owner, "agent": agent, "customer": sale.customer, "stranger": UserFactory()}
    return users, ids, hostile


def _url(route: str, ids: dict) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids.get(m.group(1), 1)), route)


# On PostgreSQL only, for CI's time (minutes of CPU a run; CI's embedded stage runs
# no fuzzer: .ci/run). On SQLite it once found a 500 the PostgreSQL run could not (an
# id of 20 digits, which SQLite cannot store, on the inbox's assign action; fixed
# with core.ids.parse_int): run it there by hand (`pytest tests/fuzz -m fuzz`, no
# DATABASE_URL, and this marker removed) after changing how a form parses ids.
@pytest.mark.needs_postgres
@pytest.mark.parametrize("who", ["owner", "agent", "customer", "stranger"])
def test_no_page_or_form_answers_with_a_server_error(client, world, who):
    users, ids, hostile = world
    client.raise_request_exception = False  # a 500 is collected, not raised
    client.force_login(users[who])
    failures, posted = [], 0
    for route in _routes():
        url = _url(route, ids)
        page = client.get(url)
        if page.status_code >= 500:
            failures.append(f"GET {url}: {page.status_code}")
            continue
        if who == "stranger":
            leaked = [m for m in PRIVATE if m.encode() in page.content]
            if leaked:
                failures.append(f"GET {url} showed {leaked} to a stranger")
        forms = []
        if page.status_code == 200 and "html" in page.get("Content-Type", ""):
            parser = _Forms()
            parser.feed(page.content.decode())
            forms = parser.forms
        queries = {"q": "", "page": "", "status": "", "cursor": "", "before": "", "since": ""}
        for method, action, fields in [*forms, ("get", "", queries), ("post", "", {"x": ""})]:
            target = action or url
            if SKIP.search(target.lstrip("/")):
                continue
            send = client.post if method == "post" else client.get
            # A bare POST names no field the view reads: one is enough to show it
            # does not fail; the hostile values go to the fields the page declares.
            for value in hostile if fields.keys() != {"x"} else [""]:
                data = {name: value for name in fields if name != "csrfmiddlewaretoken"}
                response = send(target, data)
                posted += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{method.upper()} {target} ({value[:20]!r}): {response.status_code}"
                    )
            client.force_login(users[who])  # a form may have signed the user out
    print(f"{who}: {len(_routes())} routes, {posted} hostile requests")
    assert posted > 700
    assert failures == []


def _filter_parameter(list_filter) -> str:
    """The query parameter of one of a model admin's ``list_filter`` entries."""
    if isinstance(list_filter, str):
        return list_filter
    if isinstance(list_filter, tuple):  # (field, filter class)
        return list_filter[0]
    return list_filter.parameter_name  # a SimpleListFilter


def test_no_admin_page_answers_with_a_server_error(client, world, admin_user):
    """Django admin, as a platform operator: every model's list with hostile search,
    ordering, page and filter parameters, its add page, and the change, history and
    delete pages of its first row."""
    _users, _ids, hostile = world
    client.raise_request_exception = False
    client.force_login(admin_user)
    failures, requests = [], 0
    for model, model_admin in django_admin.site._registry.items():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        changelist = reverse(f"{name}_changelist")
        params = ["q", "o", "p", *map(_filter_parameter, model_admin.list_filter)]
        urls = [changelist, *(f"{changelist}?{param}=" for param in params)]  # + a value
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            for page in ("change", "history", "delete"):
                urls.append(reverse(f"{name}_{page}", args=[first.pk]))
        urls.append(reverse(f"{name}_add"))
        for url in urls:
            for value in hostile if url.endswith("=") else [""]:
                response = client.get(url + quote(value) if value else url)
                requests += 1
                if response.status_code >= 500:
                    failures.append(f"GET {url}{value[:20]!r}: {response.status_code}")
    assert requests > 500
    assert failures == []
