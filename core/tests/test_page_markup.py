"""Every page, as the shop's owner, one of its agents, a customer and a stranger: each
id is used once, and each form field has a name a screen reader announces (a
``<label for>``, a wrapping ``<label>``, ``aria-label`` or ``aria-labelledby``) that
is its own — two fields sharing ``id_body`` made the message box read "Message
Private note" and left the note box unnamed.

The same crawl stands in for the Nu HTML checker (vnu, a Java program of 30 MB the
suite does not fetch): the errors it found on these pages are checked here with
Python's parser — an ``aria-describedby`` (or ``for``, ``aria-labelledby``,
``aria-controls``) naming an id no element has (a field's error that a screen reader
never reads), attributes HTML does not allow (``hx-*`` instead of ``data-hx-*``,
``aria-label`` on an element that cannot be named, such as ``<del>``), a ``<time
datetime>`` that is not a valid date or time (microseconds), interactive content
inside a link or a button, and a block inside a paragraph."""

import re
from collections import Counter
from html.parser import HTMLParser

import pytest

from tests.fuzz.test_form_fuzz import _routes, _url, world  # noqa: F401 (a fixture)

UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
REFERENCES = ("for", "aria-describedby", "aria-labelledby", "aria-controls")
INTERACTIVE = {"a", "button", "select", "textarea", "details", "iframe", "label"}
# Elements a paragraph cannot hold (the parser would close the <p> before them).
BLOCKS = {"address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset",
          "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
          "main", "nav", "ol", "p", "pre", "section", "table", "ul"}  # fmt: skip
# Without a role, these cannot be named: ARIA prohibits aria-label on them.
UNNAMEABLE = {"b", "code", "del", "em", "i", "ins", "p", "s", "small", "span", "strong", "time"}
# HTML's valid date, time, local date-time and global date-time strings (a subset that
# covers what Django's date filter writes), with at most milliseconds.
DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?|\d{4}-\d{2}|P.*)$"
)


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.fields: list[dict] = []  # the attributes of each field, plus "_wrapped"
        self.label_for: Counter[str] = Counter()
        self.open_labels = 0
        self.references: list[tuple[str, str, str]] = []  # (tag, attribute, id)
        self.errors: list[str] = []
        self.open: list[str] = []  # the elements open at this point

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def _check_markup(self, tag, attrs):
        for name in attrs:
            if name.startswith("hx-"):
                self.errors.append(f"<{tag}> has {name} (HTML allows data-{name})")
        if attrs.get("aria-label") and tag in UNNAMEABLE and not attrs.get("role"):
            self.errors.append(f"<{tag}> cannot have aria-label")
        if tag == "time" and "datetime" in attrs and not DATETIME.match(attrs["datetime"] or ""):
            self.errors.append(f"<time datetime={attrs['datetime']!r}> is not a valid time")
        for name in REFERENCES:
            for ref in (attrs.get(name) or "").split():
                self.references.append((tag, name, ref))
        is_interactive = tag in INTERACTIVE or (
            tag == "input" and (attrs.get("type") or "").lower() != "hidden"
        )
        if is_interactive and tag != "label":
            inside = [t for t in self.open if t in ("a", "button")]
            if inside:
                self.errors.append(f"<{tag}> inside <{inside[-1]}>")
        if (
            tag in BLOCKS and "p" in self.open[self.open.index("p") :]
            if "p" in self.open
            else False
        ):
            self.errors.append(f"<{tag}> inside <p>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._check_markup(tag, attrs)
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
        if tag in self.open:
            while self.open.pop() != tag:
                pass


def problems(html: str) -> list[str]:
    page = _Markup()
    page.feed(html)
    found = [f"id {i!r} used {n} times" for i, n in page.ids.items() if n > 1]
    found += page.errors
    found += [
        f"<{tag} {attr}> names id {ref!r}, which no element has"
        for tag, attr, ref in page.references
        if ref not in page.ids
    ]
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


def test_the_checker_catches_what_the_html_checker_reported():
    html = (
        '<input id="id_pin" name="pin" aria-invalid="true" aria-describedby="id_pin_error">'
        '<label for="id_pin">PIN</label><small class="field-error">Wrong PIN</small>'
        '<body hx-headers="{}"><del aria-label="was">R$ 10</del>'
        '<time datetime="2026-12-07T10:31:00.123456-03:00">10:31</time>'
        '<a href="/"><button>Go</button></a><p>Text <div>block</div></p>'
        '<time datetime="2026-12-07T10:31:00-0300">ok</time><del>ok</del>'
        '<span role="img" aria-label="ok">★</span><p><span>ok</span></p><a href="/">ok</a>'
    )
    assert problems(html) == [
        "<body> has hx-headers (HTML allows data-hx-headers)",
        "<del> cannot have aria-label",
        "<time datetime='2026-12-07T10:31:00.123456-03:00'> is not a valid time",
        "<button> inside <a>",
        "<div> inside <p>",
        "<input aria-describedby> names id 'id_pin_error', which no element has",
    ]


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


def test_a_form_sent_back_with_errors_has_the_ids_its_fields_point_at():
    """Django's widgets say ``aria-describedby="<id>_error"`` on a field with errors:
    the field partial renders that id; the summary above the form takes the focus and
    links each error to its field."""
    from django import forms
    from django.template.loader import render_to_string

    class Form(forms.Form):
        pin = forms.CharField(help_text="Six digits")
        card = forms.ChoiceField(choices=[("1", "Visa")], widget=forms.RadioSelect)
        note = forms.CharField(required=False)

    form = Form(data={"pin": "", "card": "9"})
    html = render_to_string("partials/form_errors.html", {"form": form}) + "".join(
        render_to_string("partials/field.html", {"field": field}) for field in form
    )
    assert problems(html) == []
    assert 'aria-describedby="id_pin_helptext id_pin_error"' in html
    assert 'id="id_pin_error"' in html and 'id="id_card_error"' in html
    assert 'role="alert" tabindex="-1" data-autofocus' in html
    assert 'href="#id_pin"' in html and 'href="#id_card_0"' in html
