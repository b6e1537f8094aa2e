"""Marketing pages: follow-up rules and broadcasts in the dashboard (admins and
owners), the customer's rating tap, and the offers opt-out link (no login).

Dashboard views authorize through ``accounts.selectors.get_business_for`` and fetch
rules and broadcasts through ``marketing.selectors`` scoped to that business: another
business's id is "not found", like a missing one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from catalog.selectors import active_products
from chats import selectors as chat_selectors
from chats.models import Label, Message
from core.errors import AppError, add_form_error
from core.flash import flash_outcome
from core.ids import parse_int
from marketing import selectors, services
from marketing.forms import BroadcastForm, RuleForm

ADMIN = Membership.Role.ADMIN


# --- Follow-up rules ------------------------------------------------------------------


def _rules_page(request, business, form, rule=None, preview="", status=200):
    response = render_dashboard(
        request, business, "followups", "marketing/followups.html",
        {
            "rules": selectors.list_rules(business=business),
            "form": form,
            "rule": rule,
            "preview": preview,
            "ratings": selectors.rating_summary(business=business),
            "default_text": services.default_rule_text(),
        },
    )  # fmt: skip
    response.status_code = status
    return response


def _save_rule(request, business, rule=None):
    form = RuleForm(request.POST)
    if not form.is_valid():
        return _rules_page(request, business, form, rule, status=400)
    data = form.cleaned_data
    if "preview" in request.POST:
        try:
            preview = services.preview_template(business=business, text=data["text"])
        except AppError as exc:
            add_form_error(form, exc)
            return _rules_page(request, business, form, rule, status=400)
        return _rules_page(request, business, form, rule, preview=preview)
    try:
        services.save_rule(
            actor=request.user, business=business, rule=rule, trigger=data["trigger"],
            delay_days=data["delay_days"], text=data["text"], ask_rating=data["ask_rating"],
            is_active=data["is_active"],
        )  # fmt: skip
    except AppError as exc:
        add_form_error(form, exc)
        return _rules_page(request, business, form, rule, status=400)
    messages.success(request, _("Follow-up rule saved."))
    return redirect("followups", slug=business.slug)


@login_required
def followups(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    if request.method == "POST":
        return _save_rule(request, business)
    services.ensure_default_rule(business)
    return _rules_page(request, business, RuleForm())


@login_required
def followup_edit(request, slug: str, rule_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    rule = selectors.get_rule_for(business=business, rule_id=rule_id)
    if request.method == "POST":
        return _save_rule(request, business, rule)
    form = RuleForm(
        initial={
            "trigger": rule.trigger, "delay_days": rule.delay_days,
            "text": services.rule_text(rule),
            "ask_rating": rule.ask_rating, "is_active": rule.is_active,
        }
    )  # fmt: skip
    return _rules_page(request, business, form, rule)


@login_required
@require_POST
def followup_delete(request, slug: str, rule_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    rule = selectors.get_rule_for(business=business, rule_id=rule_id)
    flash_outcome(
        request,
        lambda: services.delete_rule(actor=request.user, rule=rule),
        success=_("Follow-up rule deleted."),
    )
    return redirect("followups", slug=business.slug)


@login_required
@require_POST
def template_preview(request, slug: str):
    """HTMX: the message as a customer would read it, or why it cannot be saved."""
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    allowed = (
        services.BROADCAST_PLACEHOLDERS
        if request.POST.get("for") == "broadcast"
        else services.RULE_PLACEHOLDERS
    )
    try:
        text = services.preview_template(
            business=business, text=request.POST.get("text", ""), allowed=allowed
        )
    except AppError as exc:
        return HttpResponse(f'<p class="field-error" role="alert">{escape(exc.message)}</p>')
    return HttpResponse(f'<div class="preview-box">{escape(text)}</div>')


# --- Ratings (customers) ---------------------------------------------------------------


@login_required
@require_POST
def followup_rate(request, message_id: int):
    pk = parse_int(message_id)
    message = Message.objects.filter(pk=pk).first() if pk else None
    if message is None:
        raise Http404
    # Visible to this user at all (else "not found", as for a missing message).
    chat_selectors.get_conversation_for(user=request.user, conversation_id=message.conversation_id)
    try:
        services.rate_order(
            customer=request.user, message=message, score=parse_int(request.POST.get("score"))
        )
    except AppError as exc:
        if exc.status_code == 404:
            raise Http404 from None
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Thank you for your rating!"))
    return redirect("chat_thread", conversation_id=message.conversation_id)


# --- Broadcasts -------------------------------------------------------------------------


def _broadcast_form(business, data=None):
    return BroadcastForm(
        data,
        labels=Label.objects.filter(business=business),
        products=active_products(business=business).order_by("name"),
    )


@login_required
def broadcasts(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    form = _broadcast_form(business, request.POST or None)
    preview, status = "", 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                if "preview" in request.POST:
                    preview = services.preview_template(
                        business=business, text=data["text"],
                        allowed=services.BROADCAST_PLACEHOLDERS,
                    )  # fmt: skip
                    status = 200
                else:
                    broadcast = services.create_broadcast(
                        actor=request.user, business=business, text=data["text"],
                        audience=data["audience"], label_id=data["label"],
                        product_id=data["product"], before=data["before"],
                        send_at=data["send_at"], product_ids=data["products"],
                    )  # fmt: skip
                    messages.success(
                        request,
                        _("Broadcast scheduled for %(n)d contacts.") % {"n": broadcast.recipients},
                    )
                    return redirect("broadcast_detail", slug=slug, broadcast_id=broadcast.pk)
            except AppError as exc:
                add_form_error(form, exc)
    response = render_dashboard(
        request, business, "broadcasts", "marketing/broadcasts.html",
        {
            "form": form,
            "preview": preview,
            "broadcasts": selectors.list_broadcasts(business=business)[:50],
            "opted_in": services.audience_contacts(business=business, audience="all").count(),
        },
    )  # fmt: skip
    response.status_code = status
    return response


@login_required
def broadcast_detail(request, slug: str, broadcast_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    broadcast = selectors.get_broadcast_for(business=business, broadcast_id=broadcast_id)
    context = {"broadcast": broadcast, "progress": selectors.broadcast_progress(broadcast)}
    return render_dashboard(request, business, "broadcasts", "marketing/broadcast.html", context)


@login_required
@require_POST
def broadcast_cancel(request, slug: str, broadcast_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    broadcast = selectors.get_broadcast_for(business=business, broadcast_id=broadcast_id)
    flash_outcome(
        request,
        lambda: services.cancel_broadcast(actor=request.user, broadcast=broadcast),
        success=_("Broadcast canceled: its offers not sent yet will not go out."),
    )
    return redirect("broadcast_detail", slug=business.slug, broadcast_id=broadcast.pk)


@login_required
def broadcast_progress(request, slug: str, broadcast_id: int):
    """HTMX polling (every 2 s while it sends): the progress bar and its counts."""
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    broadcast = selectors.get_broadcast_for(business=business, broadcast_id=broadcast_id)
    context = {"broadcast": broadcast, "progress": selectors.broadcast_progress(broadcast),
               "business": business}  # fmt: skip
    return render(request, "marketing/_progress.html", context)


# --- Opt-out link (no login) --------------------------------------------------------------


def offers_optout(request, token: str):
    try:
        contact = services.contact_for_token(token)
    except AppError:
        return render(request, "marketing/optout.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        services.opt_out_by_link(token=token)
        done = True
    return render(
        request,
        "marketing/optout.html",
        {"business": contact.business, "done": done, "opted_in": contact.accepts_offers},
    )
