"""Every page, as the shop's owner, one of its agents, a customer and a stranger: each
id is used once, and each form field has a name a screen reader announces (a
``<label for>``, a wrapping ``<label>``, ``aria-label`` or ``aria-labelledby``) that
is its own — two fields sharing ``id_body`` made the message box read "Message
Private note" and left the note box unnamed."""

from collections import Counter
from html.parser import HTMLParser

import pytest

from tests.fuzz.test_form_fuzz import _routes, _url, world  # noqa: F401 (a fixture)

UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.fields: list[dict] = []  # the attributes of each field, plus "_wrapped"
        self.label_for: Counter[str] = Counter()
        self.open_labels = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids[attrs["id"]] += 1
        if tag == "label":
            self.open_labels += 1
            if attrs.get("for"):
                self.label_for[attrs["for"]] += 1
        elif (
            tag in ("input", "select", "textarea")
            and (attrs.get("type") or "text").lower() not in UNLABELLED_TYPES
        ):
            self.fields.append({**attrs, "_tag": tag, "_wrapped": self.open_labels > 0})

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels = max(0, self.open_labels - 1)


def problems(html: str) -> list[str]:
    page = _Markup()
    page.feed(html)
    found = [f"id {i!r} used {n} times" for i, n in page.ids.items() if n > 1]
    for field in page.fields:
        name = field.get("name") or field.get("id") or field["_tag"]
        if field.get("aria-label") or field.get("aria-labelledby") or field["_wrapped"]:
            continue
        labels = page.label_for.get(field.get("id") or "", 0)
        if labels == 0:
            found.append(f"field {name!r} has no label")
        elif labels > 1:
            found.append(f"field {name!r} has {labels} labels")
    return found


def test_the_checker_catches_shared_ids_and_unlabelled_fields():
    html = (
        '<label for="id_body">Message</label><textarea id="id_body" name="body"></textarea>'
        '<label for="id_body">Private note</label><textarea id="id_body" name="body"></textarea>'
        '<input name="q"><label>Wrapped <input name="w"></label><input type="hidden" name="h">'
    )
    assert problems(html) == [
        "id 'id_body' used 2 times",
        "field 'body' has 2 labels",
        "field 'body' has 2 labels",
        "field 'q' has no label",
    ]


# allauth's pages, which the crawl of our own URL patterns leaves out.
ACCOUNT_PAGES = ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["owner", "agent", "customer", "stranger", "anonymous"])
def test_every_page_has_unique_ids_and_labelled_fields(client, world, who):  # noqa: F811
    users, ids, _hostile = world
    if who != "anonymous":
        client.force_login(users[who])
    failures, seen = [], 0
    for url in [*ACCOUNT_PAGES, *(_url(route, ids) for route in _routes())]:
        page = client.get(url)
        if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
            continue
        seen += 1
        failures += [f"{url}: {problem}" for problem in problems(page.content.decode())]
    assert seen >= 5  # the crawl reached the pages (a stranger sees the fewest)
    assert not failures, "\n".join(failures)
