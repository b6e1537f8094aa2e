"""Dashboard → Integrations: a business's webhook endpoints, each with its delivery
log. Owners and admins only (agents and outsiders get "not found" from
``get_business_for``); another business's endpoint or delivery is "not found"."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from core.errors import AppError, add_form_error
from core.flash import flash_outcome
from webhooks import selectors
from webhooks.forms import EndpointForm, LogFilterForm
from webhooks.services import endpoints as services

ADMIN = Membership.Role.ADMIN
SECTION = "integrations"
SESSION_SECRET = "webhooks.secret.%d"  # noqa: S105 (a session key: the one-time copy of a new secret)


def _endpoint(request, slug, endpoint_id):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    return business, selectors.get_endpoint_for(business=business, endpoint_id=endpoint_id)


def _show_secret_once(request, endpoint) -> None:
    request.session[SESSION_SECRET % endpoint.pk] = endpoint.secret


@login_required
def endpoints(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    rows = list(selectors.list_endpoints(business=business))
    return render_dashboard(
        request, business, SECTION, "webhooks/endpoints.html", {"endpoints": rows}
    )


def _form_page(request, business, form, endpoint=None, status=200):
    response = render_dashboard(
        request,
        business,
        SECTION,
        "webhooks/endpoint_form.html",
        {"form": form, "endpoint": endpoint},
    )
    response.status_code = status
    return response


def _save(request, business, endpoint=None):
    form = EndpointForm(request.POST)
    if form.is_valid():
        fields = {
            "url": form.cleaned_data["url"],
            "description": form.cleaned_data["description"],
            "event_types": form.cleaned_data["event_types"],
        }
        try:
            if endpoint is None:
                endpoint = services.create_endpoint(actor=request.user, business=business, **fields)
                _show_secret_once(request, endpoint)
            else:
                services.update_endpoint(actor=request.user, endpoint=endpoint, **fields)
        except AppError as exc:
            add_form_error(form, exc)
        else:
            return redirect("webhook_endpoint", business.slug, endpoint.pk)
    return _form_page(request, business, form, endpoint, status=400)


@login_required
def endpoint_create(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    if request.method == "POST":
        return _save(request, business)
    return _form_page(request, business, EndpointForm())


@login_required
def endpoint_edit(request, slug: str, endpoint_id: int):
    business, endpoint = _endpoint(request, slug, endpoint_id)
    if request.method == "POST":
        return _save(request, business, endpoint)
    form = EndpointForm(
        initial={
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": endpoint.event_types,
        }
    )
    return _form_page(request, business, form, endpoint)


@login_required
def endpoint_detail(request, slug: str, endpoint_id: int):
    business, endpoint = _endpoint(request, slug, endpoint_id)
    filters = LogFilterForm(request.GET or None)
    event_type, failed = "", False
    if filters.is_valid():
        event_type, failed = filters.cleaned_data["type"], filters.cleaned_data["failed"]
    rows = selectors.list_deliveries(endpoint=endpoint, event_type=event_type, failed=failed)
    page = Paginator(rows, selectors.PAGE).get_page(request.GET.get("page"))
    deliveries = list(page.object_list)
    attempts = selectors.list_attempts(deliveries=deliveries)
    query = request.GET.copy()
    query.pop("page", None)
    return render_dashboard(
        request,
        business,
        SECTION,
        "webhooks/endpoint.html",
        {
            "endpoint": endpoint,
            "secret": request.session.pop(SESSION_SECRET % endpoint.pk, None),
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "deliveries": [(d, attempts[d.pk]) for d in deliveries],
        },
    )


@login_required
@require_POST
def endpoint_enable(request, slug: str, endpoint_id: int):
    business, endpoint = _endpoint(request, slug, endpoint_id)
    enabled = request.POST.get("enabled") == "1"
    flash_outcome(
        request,
        lambda: services.set_enabled(actor=request.user, endpoint=endpoint, enabled=enabled),
        success=_("Endpoint enabled.") if enabled else _("Endpoint disabled."),
    )
    return redirect("webhook_endpoint", business.slug, endpoint.pk)


@login_required
@require_POST
def endpoint_rotate(request, slug: str, endpoint_id: int):
    business, endpoint = _endpoint(request, slug, endpoint_id)
    rotated = services.rotate_secret(actor=request.user, endpoint=endpoint)
    _show_secret_once(request, rotated)
    return redirect("webhook_endpoint", business.slug, endpoint.pk)


@login_required
@require_POST
def endpoint_test(request, slug: str, endpoint_id: int):
    business, endpoint = _endpoint(request, slug, endpoint_id)
    flash_outcome(
        request,
        lambda: services.send_test_event(actor=request.user, endpoint=endpoint),
        success=_("Test event sent: it appears in the log below in a moment."),
    )
    return redirect("webhook_endpoint", business.slug, endpoint.pk)


@login_required
@require_POST
def endpoint_delete(request, slug: str, endpoint_id: int):
    business, endpoint = _endpoint(request, slug, endpoint_id)
    flash_outcome(
        request,
        lambda: services.delete_endpoint(actor=request.user, endpoint=endpoint),
        success=_("Endpoint deleted."),
    )
    return redirect("webhook_endpoints", business.slug)


@login_required
@require_POST
def delivery_resend(request, slug: str, endpoint_id: int, delivery_id: int):
    business, endpoint = _endpoint(request, slug, endpoint_id)
    delivery = selectors.get_delivery_for(endpoint=endpoint, delivery_id=delivery_id)
    flash_outcome(
        request,
        lambda: services.resend_delivery(actor=request.user, delivery=delivery),
        success=_("Delivery queued again."),
    )
    return redirect("webhook_endpoint", business.slug, endpoint.pk)
