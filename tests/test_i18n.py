"""One language per page: our strings and django-allauth's, in Brazilian Portuguese,
English, French or Spanish, chosen by the browser, the footer's switcher or the
signed-in user's profile.

``locale/<pt_BR|fr|es>/LC_MESSAGES/django.po`` are committed; ``make install`` compiles
them into the ``.mo`` files Django reads (``pybabel compile``, so no system gettext is
needed). Every catalog test runs for each of the three.
"""

import io
import os
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_python
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils.translation.template import templatize

from accounts.tests.factories import UserFactory, create_business

BASE_DIR = Path(settings.BASE_DIR)
# Each catalog and its plural rule (French counts 0 and 1 as singular, like pt-BR).
LOCALES = {"pt_BR": "(n > 1)", "fr": "(n > 1)", "es": "(n != 1)"}

PT = {"accept-language": "pt-BR,pt;q=0.9,en;q=0.8"}
EN = {"accept-language": "en-US,en;q=0.9"}
FR = {"accept-language": "fr-FR,fr;q=0.9,en;q=0.8"}
ES = {"accept-language": "es-AR,es;q=0.9,en;q=0.8"}


def _po(locale: str) -> Path:
    return BASE_DIR / "locale" / locale / "LC_MESSAGES" / "django.po"


def _catalog(locale: str = "pt_BR"):
    with _po(locale).open("rb") as f:
        return read_po(f, locale=locale)


def _messages(locale: str = "pt_BR"):
    return [m for m in _catalog(locale) if m.id]


@pytest.fixture(params=list(LOCALES))
def locale(request):
    return request.param


def _texts(message) -> list[str]:
    return list(message.string) if message.pluralizable else [message.string]


# --- Pages in each language -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "lang", "expected"),
    [
        (PT, "pt-br", ["Venda onde seus clientes conversam.", "Buscar lojas", ">Entrar<"]),
        (EN, "en", ["Sell where your customers talk.", "Search shops", ">Sign in<"]),
        (FR, "fr", ["Vendez là où vos clients discutent.", "Rechercher des boutiques"]),
        (ES, "es", ["Vende donde conversan tus clientes.", "Buscar tiendas", ">Iniciar sesión<"]),
    ],
)
def test_the_home_page_speaks_the_browsers_language(client, headers, lang, expected):
    response = client.get(reverse("home"), headers=headers)

    assert response.status_code == 200
    assert f'<html lang="{lang}"' in response.text
    for text in expected:
        assert text in response.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "title"), [(PT, "Lojas"), (EN, "Shops"), (FR, "Boutiques"), (ES, "Tiendas")]
)
def test_a_page_title_is_in_the_visitors_language(client, headers, title):
    text = client.get(reverse("business_directory"), headers=headers).text

    assert f"<title>{title} · Conversa</title>" in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "sign_in", "sign_up"),
    [
        (PT, ">Entrar<", "Cadastrar-se"),
        (FR, ">Se connecter<", "S'inscrire"),
        (ES, ">Iniciar sesión<", "Registrarse"),
    ],
)
def test_the_home_page_has_no_english_left(client, headers, sign_in, sign_up):
    text = client.get(reverse("home"), headers=headers).text

    for english in ("Sell where your customers", "Search shops", "Sign in", "Sign up", "Language"):
        assert english not in text
    assert sign_in in text
    assert sign_up in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "heading", "allauth", "ours"),
    [
        (PT, "Entrar", "Esqueceu sua senha?", "Cadastrar-se"),
        (EN, "Sign In", "Forgot your password?", "Sign up"),
        (FR, "Connexion", "Mot de passe oublié ?", "S'inscrire"),
        (ES, "Iniciar sesión", "¿Ha olvidado su contraseña?", "Registrarse"),
    ],
)
def test_the_sign_in_page_is_in_one_language(client, headers, heading, allauth, ours):
    response = client.get(reverse("account_login"), headers=headers)

    assert response.status_code == 200
    # The heading and the password link are django-allauth's; the header link is ours.
    assert re.search(rf"<h1>\s*{heading}\s*</h1>", response.text)
    assert allauth in response.text
    assert ours in response.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "headers", "lang", "expected"),
    [
        ("pt-br", EN, "pt-br", ["Visão geral", "Catálogo", "Equipe", "Configurações"]),
        ("en", PT, "en", ["Overview", "Catalog", "Team", "Settings"]),
        ("fr", PT, "fr", ["Vue d&#x27;ensemble", "Catalogue", "Équipe", "Paramètres"]),
        ("es", FR, "es", ["Resumen", "Catálogo", "Equipo", "Configuración"]),
    ],
)
def test_the_signed_in_users_language_wins_over_the_browsers(
    client, language, headers, lang, expected
):
    user = UserFactory(language=language)
    business = create_business(owner=user, name="Padaria Central")
    client.force_login(user)

    response = client.get(reverse("dashboard", kwargs={"slug": business.slug}), headers=headers)

    assert response.status_code == 200
    assert f'<html lang="{lang}"' in response.text
    for text in expected:
        assert text in response.text


# --- The footer's language switcher -----------------------------------------------


class LanguageForm(HTMLParser):
    """The footer form that posts to ``set_language``: what a browser would submit,
    and the texts that name its controls."""

    def __init__(self, html: str):
        super().__init__()
        self.action = reverse("set_language")
        self.found = self._inside = False
        self.method = ""
        self.data: dict[str, str] = {}
        self.options: list[str] = []
        self.select: dict[str, str] = {}
        self.labels: dict[str, str] = {}
        self.button = ""
        self._text: tuple[str, str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("action") == self.action:
            self.found = self._inside = True
            self.method = a.get("method", "")
        if not self._inside:
            return
        if tag == "input":
            self.data[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select = a
        elif tag == "option":
            self.options.append(a["value"])
            if "selected" in a:
                self.data[self.select["name"]] = a["value"]
        elif tag == "label":
            self._text = ("label", a.get("for", ""))
            self.labels[a.get("for", "")] = ""
        elif tag == "button":
            self._text = ("button", a.get("type", "submit"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False
        if tag in ("label", "button"):
            self._text = None

    def handle_data(self, data):
        if self._text and self._text[0] == "label":
            self.labels[self._text[1]] += data.strip()
        elif self._text and self._text[0] == "button" and self._text[1] == "submit":
            self.button += data.strip()

    def submit(self, client, language: str, **kwargs):
        assert self.found and self.method == "post"
        return client.post(self.action, self.data | {"language": language}, **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "label", "button", "selected"),
    [
        (PT, "Idioma", "Alterar idioma", "pt-br"),
        (EN, "Language", "Change language", "en"),
        (FR, "Langue", "Changer de langue", "fr"),
        (ES, "Idioma", "Cambiar idioma", "es"),
    ],
)
def test_every_page_has_a_labelled_language_switcher(client, headers, label, button, selected):
    form = LanguageForm(client.get("/s/?q=p%C3%A3o", headers=headers).text)

    assert form.found and form.method == "post"
    assert form.select["name"] == "language"
    assert form.labels[form.select["id"]] == label
    assert form.button == button
    assert form.options == ["pt-br", "en", "fr", "es"]
    assert form.data["language"] == selected
    assert form.data["next"] == "/s/?q=p%C3%A3o"
    assert form.data["csrfmiddlewaretoken"]


@pytest.mark.django_db
def test_a_visitor_switches_language_with_the_footer_form():
    client = Client(enforce_csrf_checks=True)
    form = LanguageForm(client.get(reverse("business_directory"), headers=PT).text)

    response = form.submit(client, "en", headers=PT)

    assert response.status_code == 302
    assert response["Location"] == reverse("business_directory")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    # The cookie beats the browser's Accept-Language from now on.
    page = client.get(reverse("business_directory"), headers=PT).text
    assert '<html lang="en"' in page
    assert "Name or keyword" in page

    LanguageForm(page).submit(client, "fr", headers=PT)
    assert "Nom ou mot-clé" in client.get(reverse("business_directory"), headers=EN).text
    LanguageForm(page).submit(client, "es", headers=PT)
    assert "Nombre o palabra clave" in client.get(reverse("business_directory"), headers=EN).text
    LanguageForm(page).submit(client, "pt-br", headers=PT)
    assert "Nome ou palavra-chave" in client.get(reverse("business_directory"), headers=EN).text


@pytest.mark.django_db
def test_a_signed_in_user_switches_language_and_it_is_saved():
    user = UserFactory(language="pt-br", display_name="Ana", phone="+5511987654321")
    business = create_business(owner=user, name="Padaria Central")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    url = reverse("dashboard", kwargs={"slug": business.slug})
    form = LanguageForm(client.get(url, headers=PT).text)
    assert form.labels[form.select["id"]] == "Idioma"

    response = form.submit(client, "en", headers=PT)

    assert response.status_code == 302
    assert response["Location"] == url
    user.refresh_from_db()
    assert (user.language, user.display_name, user.phone) == ("en", "Ana", "+5511987654321")
    # Saved to the profile: it holds in a new session, whatever the browser asks for.
    other_client = Client()
    other_client.force_login(user)
    assert "Overview" in other_client.get(url, headers=PT).text


@pytest.mark.django_db
def test_an_unknown_language_or_an_outside_address_changes_nothing(client):
    user = UserFactory(language="pt-br")
    client.force_login(user)

    response = client.post(
        reverse("set_language"), {"language": "xx", "next": "https://evil.example/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    user.refresh_from_db()
    assert user.language == "pt-br"


@pytest.mark.django_db
def test_the_switcher_only_takes_posts(client):
    assert client.get(reverse("set_language"), {"language": "en"}).status_code == 405


# --- The catalog itself -----------------------------------------------------------

PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{\{.*?\}\}|\{\w*\}")
# Markup a translation must keep (not "<address>" in a help text, which is escaped).
TAG = re.compile(r"</?(?:a|b|br|code|em|i|kbd|span|strong)\b[^>]*>")


def test_every_message_is_translated_and_none_is_fuzzy(locale):
    messages = _messages(locale)

    assert len(messages) > 400
    assert not _catalog(locale).fuzzy
    untranslated = [m.id for m in messages if not all(s.strip() for s in _texts(m))]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == []
    assert fuzzy == []
    assert all(len(m.string) == 2 for m in messages if m.pluralizable)


def test_translations_keep_every_placeholder_and_tag(locale):
    problems = []
    for m in _messages(locale):
        ids = list(m.id) if m.pluralizable else [m.id]
        want_placeholders = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        want_tags = Counter(TAG.findall(ids[-1]))
        for text in _texts(m):
            if set(PLACEHOLDER.findall(text)) != want_placeholders:
                problems.append(("placeholders", m.id, text))
            if Counter(TAG.findall(text)) != want_tags:
                problems.append(("tags", m.id, text))
    # Babel's own checks too (python-format: names and conversion types).
    problems += [(errors, m.id) for m, errors in _catalog(locale).check()]

    assert problems == []


def test_each_catalog_has_its_languages_plural_rule(locale):
    assert _catalog(locale).plural_expr == LOCALES[locale]
    assert _catalog(locale).num_plurals == 2


def test_the_catalogs_hold_the_same_messages():
    ids = {locale: {(m.id, m.context) for m in _messages(locale)} for locale in LOCALES}

    # (pt_BR may lag behind for a moment while new English strings are translated:
    # the source test above says which.)
    assert ids["fr"] == ids["es"]
    assert ids["pt_BR"] <= ids["fr"]


# Where makemessages looks (its default extensions, minus what the Makefile ignores).
IGNORED_DIRS = {".venv", "var", "static", "node_modules", "test-results"}
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}


def _source_messages() -> dict:
    found = {}
    paths = []
    for root, dirs, files in os.walk(BASE_DIR):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS and not d.startswith("."))
        paths += [Path(root) / name for name in sorted(files)]
    for path in paths:
        if path.suffix == ".py":
            source = path.read_bytes()
        elif path.suffix in (".html", ".txt"):
            # Templates become the Python-like text makemessages hands to xgettext.
            code = templatize(path.read_text(), origin=str(path))
            source = "\n".join(line.lstrip() for line in code.splitlines()).encode()
        else:
            continue
        for _lineno, func, message, _comments in extract_python(
            io.BytesIO(source), KEYWORDS, [], {}
        ):
            if func.startswith(("pgettext", "npgettext")):
                message = message[1:]  # the context: the catalog keys by msgid
            if isinstance(message, tuple):
                message = tuple(part for part in message if part is not None)
                message = message[0] if len(message) == 1 else message
            found.setdefault(message, str(path.relative_to(BASE_DIR)))
    return found


def test_every_string_in_the_source_is_in_the_catalog(locale):
    """Fails when a new string is not in the .po yet: run ``manage.py makemessages -l
    pt_BR -l fr -l es --ignore=.venv --ignore=var --ignore=static --ignore=node_modules
    --no-location``, translate the new entries and ``make install``."""
    catalog = {m.id for m in _messages(locale)}

    missing = {m: where for m, where in _source_messages().items() if m not in catalog}

    assert missing == {}


def test_the_compiled_catalog_is_up_to_date(locale):
    mo = _po(locale).with_suffix(".mo")
    assert mo.exists(), "run `make install` to compile the translations"
    with mo.open("rb") as f:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}

    assert compiled == {m.id: _key(m.string) for m in _messages(locale)}, "run `make install`"


def _key(value):
    return tuple(value) if isinstance(value, list | tuple) else value
