import json
from functools import lru_cache

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag
def json_ld(data):
    """A schema.org JSON-LD block. A data block, not a script: CSP does not apply."""
    payload = json.dumps(data, ensure_ascii=False, default=str).translate(_JSON_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(payload))  # noqa: S308 - escaped above


@lru_cache(maxsize=1)
def _sprite_url() -> str:
    # Resolving a static URL through the manifest storage costs more than the rest
    # of the tag, and a page draws many icons; the URL only changes with settings.
    from django.templatetags.static import static

    return static("icons.svg")


@receiver(setting_changed)
def _forget_sprite_url(*, setting, **kwargs):
    if setting in {"STATIC_URL", "STORAGES"}:
        _sprite_url.cache_clear()


@register.simple_tag
def icon(name, label=""):
    """An icon from the sprite; decorative unless ``label`` is given."""
    href = _sprite_url() + "#" + name
    if label:
        return format_html(
            '<svg class="icon" role="img" aria-label="{}"><use href="{}"></use></svg>', label, href
        )
    return format_html('<svg class="icon" aria-hidden="true"><use href="{}"></use></svg>', href)


@register.simple_tag(takes_context=True)
def absolute(context, url):
    request = context.get("request")
    return request.build_absolute_uri(url) if request else url
