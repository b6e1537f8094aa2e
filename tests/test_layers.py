"""A lower app never names a higher app's URL or template (docs/architecture.md,
"Layers"): import-linter keeps the Python imports in order (``make lint``), this
keeps what it cannot see, the names in strings.

- In a template of an app: ``{% url "name" %}`` of a URL served by a higher app's
  view, or ``{% include/extends "<higher app>/..." %}``.
- In the Python of an app (tests and migrations aside): ``reverse("name")``,
  ``reverse_lazy``, ``redirect``, ``resolve_url`` and ``url_name="name"`` of such a
  URL, or a ``"<higher app>/....html"`` template name.

A higher app shows itself on a lower app's page through ``core.slots`` instead.
The project's own templates (``templates/``) and ``config`` are the top: they may
name anything.
"""

import re
import tomllib
from pathlib import Path

from django.conf import settings
from django.urls import get_resolver

ROOT = Path(settings.BASE_DIR)

URL_TAG = re.compile(r"""{%\s*url\s+(['"])(?P<name>[\w:.-]+)\1""")
TEMPLATE_TAG = re.compile(r"""{%\s*(?:include|extends)\s+(['"])(?P<app>\w+)/""")
PY_URL = re.compile(
    r"""(?:\b(?:reverse|reverse_lazy|redirect|resolve_url)\(\s*|\burl_name\s*=\s*)"""
    r"""(['"])(?P<name>[\w:.-]+)\1"""
)
PY_TEMPLATE = re.compile(r"""(['"])(?P<app>\w+)/[\w/.#-]+\.(?:html|txt)\1""")


def app_layers() -> list[str]:
    """The apps, lowest first, as the import-linter layers contract orders them (one
    list for both checks)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    return list(reversed(layers))


def url_owners() -> dict[str, str]:
    """Each URL name → the app whose view serves it (the first module of the view)."""
    owners = {}

    def walk(resolver, namespace=""):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern, inner)
            elif pattern.name:
                view = pattern.callback
                cls = getattr(view, "view_class", None) or getattr(view, "cls", None)
                module = (cls or view).__module__ or ""
                owners.setdefault(namespace + pattern.name, module.split(".")[0])

    walk(get_resolver())
    return owners


def upward_names(app: str, text: str, *, python: bool, layers, owners) -> list[str]:
    """The higher apps' URL names and templates that ``text`` (of ``app``) names."""
    rank = {name: i for i, name in enumerate(layers)}

    def higher(other: str | None) -> bool:
        return other in rank and rank[other] > rank[app]

    url_pattern, template_pattern = (PY_URL, PY_TEMPLATE) if python else (URL_TAG, TEMPLATE_TAG)
    found = [
        f"URL {m['name']} ({owners[m['name']]})"
        for m in url_pattern.finditer(text)
        if higher(owners.get(m["name"]))
    ]
    found += [
        f"template {m.group(0).strip(chr(34) + chr(39))}"
        for m in template_pattern.finditer(text)
        if higher(m["app"])
    ]
    return found


def app_files(app: str):
    for path in sorted((ROOT / app).rglob("*")):
        parts = path.relative_to(ROOT / app).parts
        if not path.is_file() or "tests" in parts or "migrations" in parts:
            continue
        if parts[0] == "templates" and path.suffix in {".html", ".txt"}:
            yield path, False
        elif path.suffix == ".py":
            yield path, True


def test_no_app_names_a_higher_apps_url_or_template():
    layers, owners = app_layers(), url_owners()
    upward = [
        f"{path.relative_to(ROOT)}: {name}"
        for app in layers
        for path, python in app_files(app)
        for name in upward_names(app, path.read_text(), python=python, layers=layers, owners=owners)
    ]
    assert upward == [], "a lower app names a higher one (use core.slots):\n" + "\n".join(upward)


def test_the_check_sees_what_it_must():
    # given the real URLs and layers
    layers, owners = app_layers(), url_owners()
    assert owners["shop_cart"] == "payments" and owners["inbox"] == "chats"

    def check(app, text, python=False):
        return upward_names(app, text, python=python, layers=layers, owners=owners)

    # then a lower app naming a higher app's URL or template is caught
    assert check("catalog", "<a href=\"{% url 'shop_cart' product.business.slug %}\">")
    assert check("accounts", '{%  url "inbox" business.slug as inbox_url %}')
    assert check("chats", '{% include "payments/_form.html" %}')
    assert check("accounts", 'return reverse("business_profile", kwargs={"slug": s})', True)
    assert check("accounts", "redirect('orders', slug=business.slug)", True)
    assert check("chats", 'render(request, "marketing/followups.html", {})', True)
    # and its own or a lower app's are not
    assert not check("payments", "{% url 'shop_cart' slug %}{% url 'inbox' slug %}")
    assert not check("chats", '{% extends "accounts/_dashboard_base.html" %}')
    assert not check("payments", 'reverse("inbox", args=[slug])', True)
    assert not check("core", "{% url 'unknown-name' %}")
