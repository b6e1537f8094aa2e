from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import urlize
from django.utils.safestring import SafeString, mark_safe

from chats import kinds

register = template.Library()


@register.filter(is_safe=True, needs_autoescape=True)
def chat_text(text: str, autoescape: bool = True) -> SafeString:
    """Message text as HTML: escaped, links made clickable (rel="nofollow noopener"
    ugc), line breaks kept. Nothing the sender typed is ever markup."""
    html = urlize(text, nofollow=True, autoescape=True)
    html = html.replace('rel="nofollow"', 'rel="nofollow noopener ugc" target="_blank"')
    return mark_safe(html.replace("\n", "<br>"))  # noqa: S308 - urlize escaped everything


@register.filter
def message_preview(message) -> str:
    """One line for lists and e-mails, in the kind's own words."""
    if message is None:
        return ""
    return kinds.get(message.kind).preview(message)


@register.filter
def chat_time(moment) -> str:
    """A list's time stamp, as messengers show it: the time today, the day this year,
    the date before that (in the active time zone and language)."""
    if moment is None:
        return ""
    local, today = timezone.localtime(moment), timezone.localdate()
    if local.date() == today:
        return date_format(local, "TIME_FORMAT")
    if local.year == today.year:
        return date_format(local, "MONTH_DAY_FORMAT")
    return date_format(local, "SHORT_DATE_FORMAT")
