from django import template

from accounts.dashboard import render_nav

register = template.Library()


@register.simple_tag(takes_context=True)
def dashboard_nav(context):
    """The dashboard's navigation entries (``accounts.dashboard.render_nav``)."""
    return render_nav(context)
