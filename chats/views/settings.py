"""The merchant's chat settings: greeting and away messages, quick replies and labels
(admins and owners), and the click-to-chat link with its QR code (the whole staff).

Each view authorizes through ``accounts.selectors.get_business_for`` (404 for a
missing or forbidden business) and fetches quick replies and labels through the
chats selectors scoped to that business, so another business's id is a 404 too.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Business, Membership
from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from chats import selectors
from chats.forms import CHAT_LINK_LIMITS, AutoRepliesForm, ChatLinkForm, LabelForm, QuickReplyForm
from chats.services import settings as chat_settings
from core.errors import AppError, add_form_error

ROLE = Membership.Role
# What a QR code holds at most in byte mode with error correction M (version 40). The
# link is ASCII once its query is encoded, so one character is one byte.
QR_MAX_CHARS = 2331


# --- Greeting, away message, quick replies and labels --------------------------------


def _settings_url(business: Business, anchor: str) -> str:
    return reverse("inbox_settings", kwargs={"slug": business.slug}) + f"#{anchor}"


def _settings_page(request, business, *, status=200, **forms):
    inbox = selectors.get_inbox_settings(business=business)
    auto_form = forms.get("auto_replies_form") or AutoRepliesForm(
        initial={
            "greeting_enabled": inbox.greeting_enabled,
            "greeting_text": inbox.greeting_text,
            "away_enabled": inbox.away_enabled,
            "away_text": inbox.away_text,
        }
    )
    response = render_dashboard(
        request,
        business,
        "inbox_settings",
        "chats/settings/inbox_settings.html",
        {
            "auto_replies_form": auto_form,
            "quick_reply_form": forms.get("quick_reply_form") or QuickReplyForm(),
            "label_form": forms.get("label_form") or LabelForm(),
            "quick_replies": list(selectors.list_quick_replies(business=business)),
            "labels": list(selectors.list_labels(business=business)),
            "has_hours": business.hours.exists(),
        },
    )
    response.status_code = status
    return response


@login_required
def inbox_settings(request, slug: str):
    """One page, three forms; each posts here with a hidden ``form`` naming itself."""
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    if request.method != "POST":
        return _settings_page(request, business)
    name = request.POST.get("form", "")
    posted = _SETTINGS_FORMS.get(name)
    if posted is None:
        messages.error(request, _("Choose which settings to save."))
        return redirect("inbox_settings", slug=business.slug)
    form = posted.form_class(request.POST)
    if form.is_valid():
        try:
            saved = posted.save(actor=request.user, business=business, **form.cleaned_data)
        except AppError as exc:
            add_form_error(form, _on_field(exc, posted.error_field))
        else:
            messages.success(request, posted.done(saved))
            return redirect(_settings_url(business, posted.anchor))
    return _settings_page(request, business, status=400, **{f"{name}_form": form})


@dataclass(frozen=True)
class _SettingsForm:
    """One of the page's forms (``<name>_form`` in the page): its class, the chats
    service that saves it, the flash made from what it saved, the anchor to go back
    to, and the field a uniqueness error goes on (see :func:`_on_field`)."""

    form_class: type[Form]
    save: Callable[..., Any]
    done: Callable[[Any], str]
    anchor: str
    error_field: str | None = None


_SETTINGS_FORMS = {
    "auto_replies": _SettingsForm(
        AutoRepliesForm,
        chat_settings.update_inbox_settings,
        lambda _inbox: _("Greeting and away messages saved."),
        anchor="auto-replies",
    ),
    "quick_reply": _SettingsForm(
        QuickReplyForm,
        chat_settings.save_quick_reply,
        lambda reply: _("Quick reply /%(shortcut)s added.") % {"shortcut": reply.shortcut},
        anchor="quick-replies",
        error_field="shortcut",
    ),
    "label": _SettingsForm(
        LabelForm,
        chat_settings.create_label,
        lambda label: _("Label “%(name)s” added.") % {"name": label.name},
        anchor="labels",
        error_field="name",
    ),
}


def _on_field(exc: AppError, field: str | None) -> AppError:
    """A uniqueness error from the model's constraint names no field; the only one a
    quick reply or a label has is on ``field`` (its shortcut, its name)."""
    if field is not None and exc.field in (None, "__all__"):
        return AppError(exc.message, code=exc.code, field=field, status_code=exc.status_code)
    return exc


@login_required
def quick_reply_edit(request, slug: str, reply_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    reply = selectors.get_quick_reply_for(business=business, reply_id=reply_id)
    shortcut = reply.shortcut
    form = QuickReplyForm(request.POST or None, initial={"shortcut": shortcut, "text": reply.text})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                chat_settings.save_quick_reply(
                    actor=request.user, business=business, reply=reply, **form.cleaned_data
                )
            except AppError as exc:
                add_form_error(form, _on_field(exc, "shortcut"))
            else:
                messages.success(
                    request, _("Quick reply /%(shortcut)s saved.") % {"shortcut": reply.shortcut}
                )
                return redirect(_settings_url(business, "quick-replies"))
        status = 400
    response = render_dashboard(
        request,
        business,
        "inbox_settings",
        "chats/settings/quick_reply_edit.html",
        # The saved shortcut: a rejected one must not reach the heading or the links.
        {"form": form, "reply": reply, "shortcut": shortcut},
    )
    response.status_code = status
    return response


@login_required
@require_POST
def quick_reply_delete(request, slug: str, reply_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    reply = selectors.get_quick_reply_for(business=business, reply_id=reply_id)
    chat_settings.delete_quick_reply(actor=request.user, reply=reply)
    messages.success(
        request, _("Quick reply /%(shortcut)s deleted.") % {"shortcut": reply.shortcut}
    )
    return redirect(_settings_url(business, "quick-replies"))


@login_required
@require_POST
def label_delete(request, slug: str, label_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    label = selectors.get_label_for(business=business, label_id=label_id)
    chat_settings.delete_label(actor=request.user, label=label)
    messages.success(request, _("Label “%(name)s” deleted.") % {"name": label.name})
    return redirect(_settings_url(business, "labels"))


# --- The click-to-chat link and its QR code -------------------------------------------


def build_chat_link(business: Business, params) -> tuple[str, dict[str, str]]:
    """The click-to-chat link of ``business`` with the optional parameters found in
    ``params`` (a query dict), each cut to its limit; and those parameters. The page
    and its QR code both build the link here, so they always agree."""
    values = {}
    for name, limit in CHAT_LINK_LIMITS.items():
        value = str(params.get(name, "")).replace("\x00", "").strip()[:limit].strip()
        if value:
            values[name] = value
    link = settings.SITE_URL + reverse("click_to_chat", kwargs={"slug": business.slug})
    if values:
        link += "?" + urlencode(values)
    return link, values


@login_required
def chat_link(request, slug: str):
    business = get_business_for(user=request.user, slug=slug)
    link, values = build_chat_link(business, request.GET)
    query = urlencode(values)
    qr_url = reverse("chat_link_qr", kwargs={"slug": business.slug})
    # A tab of the chat settings; agents, who do not see those, reach it from the inbox.
    section = "inbox" if business.membership.role == ROLE.AGENT else "inbox_settings"
    return render_dashboard(
        request,
        business,
        section,
        "chats/settings/chat_link.html",
        {
            "link": link,
            "form": ChatLinkForm(initial=values),
            "qr_fits": len(link) <= QR_MAX_CHARS,
            "qr_src": f"{qr_url}?{query}" if query else qr_url,
            "qr_download": f"{qr_url}?{urlencode(values | {'download': '1'})}",
        },
    )


@login_required
def chat_link_qr(request, slug: str):
    """The QR code of the link ``chat_link`` shows for the same query, as SVG;
    ``?download=1`` makes it an attachment."""
    business = get_business_for(user=request.user, slug=slug)
    link, _values = build_chat_link(business, request.GET)
    if len(link) > QR_MAX_CHARS:
        return HttpResponse(
            _("The link is too long for a QR code."), status=400, content_type="text/plain"
        )
    svg = io.BytesIO()
    # A white background: the code is printed and shown on dark screens too.
    segno.make(link, error="m", micro=False).save(
        svg, kind="svg", scale=8, border=4, light="#fff", xmldecl=True, title=link
    )
    response = HttpResponse(svg.getvalue(), content_type="image/svg+xml")
    if request.GET.get("download") == "1":
        response["Content-Disposition"] = f'attachment; filename="chat-link-{business.slug}.svg"'
    return response
