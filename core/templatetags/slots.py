from django import template
from django.utils.safestring import mark_safe

from core import slots

register = template.Library()


@register.simple_tag(takes_context=True)
def slot(context, name, **kwargs):
    """What the higher apps put in slot ``name`` (``core.slots``): each provider's
    template, rendered as ``{% include %}`` would, with the page's context plus the
    provider's variables."""
    html = []
    for part in slots.fill(name, context, **kwargs):
        shown = context.template.engine.get_template(part["template"])
        with context.push({key: value for key, value in part.items() if key != "template"}):
            html.append(shown.render(context))
    return mark_safe("".join(html))  # noqa: S308 - our templates' own output
