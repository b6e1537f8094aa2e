"""Dashboard → Campaigns: the list with its figures, a campaign's page (funnel, links,
QR codes, A6 card, spend, conversations, orders) and the forms that change them.

Every member sees the pages; owners and admins see money and may change anything
(agents get "not found" for those requests, as ``get_business_for`` answers). Another
business's campaign id is "not found" (``selectors.get_campaign_for``)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from catalog.selectors import list_pickable_products
from core.errors import AppError, add_form_error
from core.flash import flash_outcome
from core.ids import parse_int
from core.money import input_money
from insights import links, selectors
from insights.forms import (
    CampaignForm,
    RenameForm,
    SpendImportForm,
    SpendLineForm,
    WindowForm,
)
from insights.services import campaigns as campaign_services
from insights.services import spend
from insights.services.touches import flush

ADMIN = Membership.Role.ADMIN
SECTION = "campaigns"


def _query(period, preset, model, archived=False) -> str:
    # model first: the period picker swaps it (insights/_period.html).
    params = {"model": model}
    if preset == "custom":
        params |= {"from": period.first.isoformat(), "to": period.last.isoformat()}
    else:
        params["days"] = preset
    if archived:
        params["archived"] = "1"
    return urlencode(params)


# --- The list ---------------------------------------------------------------------------


def _list_page(request, business, *, import_form=None, problems=None, status=200):
    flush()
    period, preset = selectors.period_from(business, request.GET)
    model = selectors.model_from(request.GET)
    archived = request.GET.get("archived") == "1"
    rows = list(selectors.list_campaigns(business=business, archived=archived))
    figures = selectors.campaign_figures(
        business=business, campaigns=rows, period=period, model=model
    )
    money = selectors.sees_money(business)
    response = render_dashboard(
        request,
        business,
        SECTION,
        "insights/campaigns.html",
        {
            "rows": [(c, figures[c.pk]) for c in rows],
            "period": period,
            "preset": preset,
            "model": model,
            "archived": archived,
            "presets": selectors.PRESETS,
            "query": _query(period, preset, model, archived),
            "money": money,
            "targets": list(selectors.merge_targets(business=business)) if money else [],
            "import_form": import_form
            or (SpendImportForm(initial={"numbers": get_language()}) if money else None),
            "problems": problems,
            "window_form": WindowForm(
                initial={"window_days": selectors.attribution_window(business=business)}
            )
            if money
            else None,
        },
    )
    response.status_code = status
    return response


@login_required
def campaigns(request, slug: str):
    business = get_business_for(user=request.user, slug=slug)
    return _list_page(request, business)


@login_required
@require_POST
def spend_import(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    form = SpendImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _list_page(request, business, import_form=form, status=400)
    upload = form.cleaned_data["file"]
    data = upload.read(spend.MAX_BYTES + 1)
    try:
        result = spend.import_spend_csv(
            actor=request.user, business=business, data=data,
            language=form.cleaned_data["numbers"],
        )  # fmt: skip
    except spend.SpendImportError as exc:
        add_form_error(form, exc)
        return _list_page(
            request, business, import_form=form, problems=(exc.problems, exc.more), status=400
        )
    messages.success(
        request,
        _("Imported %(lines)d days of spend for %(campaigns)d campaigns.")
        % {"lines": result.lines, "campaigns": result.campaigns},
    )
    return redirect("campaigns", slug=business.slug)


@login_required
@require_POST
def attribution_window(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    form = WindowForm(request.POST)
    if form.is_valid():
        window_days = form.cleaned_data["window_days"]
        flash_outcome(
            request,
            lambda: campaign_services.set_attribution_window(
                actor=request.user, business=business, window_days=window_days
            ),
            success=_("Attribution window saved."),
        )
    else:
        messages.error(request, _("Choose 1, 7 or 28 days."))
    return redirect("campaigns", slug=business.slug)


# --- Create and edit --------------------------------------------------------------------


def _form_page(request, business, form, campaign=None, status=200):
    response = render_dashboard(
        request, business, SECTION, "insights/campaign_form.html",
        {"form": form, "campaign": campaign},
    )  # fmt: skip
    response.status_code = status
    return response


def _save(request, business, campaign=None):
    form = CampaignForm(request.POST, currency=business.currency)
    if not form.is_valid():
        return _form_page(request, business, form, campaign, status=400)
    try:
        if campaign is None:
            campaign = campaign_services.create_campaign(
                actor=request.user, business=business, **form.cleaned_data
            )
            messages.success(request, _("Campaign created."))
        else:
            campaign_services.update_campaign(
                actor=request.user, campaign=campaign, **form.cleaned_data
            )
            messages.success(request, _("Campaign saved."))
    except AppError as exc:
        add_form_error(form, exc)
        return _form_page(request, business, form, campaign, status=400)
    return redirect("campaign_detail", slug=business.slug, campaign_id=campaign.pk)


@login_required
def campaign_create(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    if request.method == "POST":
        return _save(request, business)
    return _form_page(request, business, CampaignForm(currency=business.currency))


@login_required
def campaign_edit(request, slug: str, campaign_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    campaign = selectors.get_campaign_for(business=business, campaign_id=campaign_id)
    if campaign.is_automatic:
        raise Http404
    if request.method == "POST":
        return _save(request, business, campaign)
    initial = {
        name: getattr(campaign, name)
        for name in (
            "name",
            "channel",
            "code",
            "starts_on",
            "ends_on",
            "cost_mode",
            "link_text",
            "utm_source",
            "utm_medium",
        )
    } | {"total_cost": input_money(campaign.total_cost, campaign.currency)}
    return _form_page(
        request, business, CampaignForm(initial=initial, currency=business.currency), campaign
    )


@login_required
@require_POST
def campaign_archive(request, slug: str, campaign_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    campaign = selectors.get_campaign_for(business=business, campaign_id=campaign_id)
    archived = request.POST.get("archived") != "0"
    flash_outcome(
        request,
        lambda: campaign_services.archive_campaign(
            actor=request.user, campaign=campaign, archived=archived
        ),
        success=_("Campaign archived.") if archived else _("Campaign restored."),
    )
    return redirect("campaign_detail", slug=business.slug, campaign_id=campaign.pk)


@login_required
@require_POST
def campaign_rename(request, slug: str, campaign_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    campaign = selectors.get_campaign_for(business=business, campaign_id=campaign_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        name = form.cleaned_data["name"]
        flash_outcome(
            request,
            lambda: campaign_services.rename_campaign(
                actor=request.user, campaign=campaign, name=name
            ),
            success=_("Campaign renamed."),
        )
    else:
        messages.error(request, _("Enter the new name."))
    return redirect("campaign_detail", slug=business.slug, campaign_id=campaign.pk)


@login_required
@require_POST
def campaign_merge(request, slug: str, campaign_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    campaign = selectors.get_campaign_for(business=business, campaign_id=campaign_id)
    into = selectors.get_campaign_for(business=business, campaign_id=request.POST.get("into"))
    merged = flash_outcome(
        request,
        lambda: campaign_services.merge_campaign(actor=request.user, campaign=campaign, into=into),
        success=_("Merged into “%(name)s”.") % {"name": into.name},
    )
    if merged:
        return redirect("campaign_detail", slug=business.slug, campaign_id=into.pk)
    return redirect("campaign_detail", slug=business.slug, campaign_id=campaign.pk)


# --- One campaign -----------------------------------------------------------------------


def funnel_labels() -> list[str]:
    return [
        _("Clicks"), _("Conversations"), _("Payment requests"), _("Paid orders"),
        _("Bought again within 90 days"),
    ]  # fmt: skip


def _detail_page(request, business, campaign, *, spend_form=None, status=200):
    flush()
    period, preset = selectors.period_from(business, request.GET)
    model = selectors.model_from(request.GET)
    figures = selectors.campaign_detail(
        business=business, campaign=campaign, period=period, model=model
    )
    money = selectors.sees_money(business)
    products = list(list_pickable_products(business=business))
    product = _picked(products, request.GET.get("product"))
    chat = links.chat_link(campaign)
    link_rows = [
        ("chat", _("Click-to-chat link"), chat),
        ("shop", _("Shop link"), links.shop_link(campaign)),
    ]
    if product is not None:
        link_rows.append(
            (
                "product",
                _("Product link: %(name)s") % {"name": product.name},
                links.product_link(campaign, product),
            )
        )
    response = render_dashboard(
        request,
        business,
        SECTION,
        "insights/campaign.html",
        {
            "campaign": campaign,
            "figures": figures,
            "funnel": selectors.funnel(figures, funnel_labels()),
            "period": period,
            "preset": preset,
            "model": model,
            "presets": selectors.PRESETS,
            "query": _query(period, preset, model),
            "money": money,
            "links": [
                {
                    "kind": kind,
                    "label": label,
                    "url": url,
                    "fits": len(url) <= links.QR_MAX_CHARS,
                    "product": product.pk if kind == "product" else None,
                }
                for kind, label, url in link_rows
            ],
            "products": products,
            "product": product,
            "conversations": selectors.list_campaign_conversations(
                business=business, campaign=campaign, period=period
            ),
            "orders": selectors.list_campaign_orders(
                business=business, campaign=campaign, period=period, model=model
            ),
            "spend_lines": list(selectors.list_spend_lines(campaign=campaign)) if money else [],
            "spend_form": spend_form
            or (SpendLineForm(currency=business.currency) if money else None),
            "targets": list(selectors.merge_targets(business=business))
            if money and campaign.is_automatic
            else [],
        },
    )
    response.status_code = status
    return response


def _picked(products, value):
    pk = parse_int(value)
    return next((p for p in products if p.pk == pk), None) if pk else None


@login_required
def campaign_detail(request, slug: str, campaign_id: int):
    business = get_business_for(user=request.user, slug=slug)
    campaign = selectors.get_campaign_for(business=business, campaign_id=campaign_id)
    return _detail_page(request, business, campaign)


def _link_or_404(business, campaign, params) -> str:
    kind = params.get("link", "chat")
    product = None
    if kind == "product":
        product = _picked(list(list_pickable_products(business=business)), params.get("product"))
    link = links.link_for(campaign, kind, product)
    if link is None:
        raise Http404
    return link


@login_required
def campaign_qr(request, slug: str, campaign_id: int):
    """The QR code of one of the campaign's links (``?link=chat|shop|product&product=
    <id>``), as ``?format=png`` or SVG; ``?download=1`` makes it an attachment."""
    business = get_business_for(user=request.user, slug=slug)
    campaign = selectors.get_campaign_for(business=business, campaign_id=campaign_id)
    link = _link_or_404(business, campaign, request.GET)
    fmt = "png" if request.GET.get("format") == "png" else "svg"
    try:
        body, content_type = links.qr_code(link, fmt)
    except ValueError:
        return HttpResponse(
            _("The link is too long for a QR code."), status=400, content_type="text/plain"
        )
    response = HttpResponse(body, content_type=content_type)
    if request.GET.get("download") == "1":
        name = f"{campaign.code}-{request.GET.get('link', 'chat')[:8]}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def campaign_card(request, slug: str, campaign_id: int):
    """A printable A6 card: the shop's and campaign's names, the QR code, the link."""
    business = get_business_for(user=request.user, slug=slug)
    campaign = selectors.get_campaign_for(business=business, campaign_id=campaign_id)
    link = _link_or_404(business, campaign, request.GET)
    params = {k: request.GET[k] for k in ("link", "product") if request.GET.get(k)}

    qr = reverse("campaign_qr", args=[business.slug, campaign.pk])
    return render_dashboard(
        request, business, SECTION, "insights/campaign_card.html",
        {"campaign": campaign, "link": link, "fits": len(link) <= links.QR_MAX_CHARS,
         "qr_src": f"{qr}?{urlencode(params)}"},
    )  # fmt: skip


# --- Spend lines ------------------------------------------------------------------------


@login_required
@require_POST
def spend_add(request, slug: str, campaign_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    campaign = selectors.get_campaign_for(business=business, campaign_id=campaign_id)
    form = SpendLineForm(request.POST, currency=business.currency)
    if form.is_valid():
        try:
            spend.add_spend_line(actor=request.user, campaign=campaign, **form.cleaned_data)
        except AppError as exc:
            add_form_error(form, exc)
    if form.errors:
        return _detail_page(request, business, campaign, spend_form=form, status=400)
    messages.success(request, _("Spend line added."))
    return redirect(reverse("campaign_detail", args=[business.slug, campaign.pk]) + "#spend")


@login_required
@require_POST
def spend_delete(request, slug: str, campaign_id: int, line_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    campaign = selectors.get_campaign_for(business=business, campaign_id=campaign_id)
    line = selectors.get_spend_line(campaign=campaign, line_id=line_id)
    flash_outcome(
        request,
        lambda: spend.delete_spend_line(actor=request.user, line=line),
        success=_("Spend line deleted."),
    )
    return redirect(reverse("campaign_detail", args=[business.slug, campaign.pk]) + "#spend")
