"""Direct Pix (docs/pix.md, "Direct Pix"): the merchant records a Pix received on an
order, and the owner chooses how customers pay by Pix. Parse, authorize through a
selector, call one service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from core.errors import AppError, add_form_error
from core.flash import flash_outcome
from payments.forms.direct_pix import PixModeForm
from payments.pix.direct import pix_key_of, unavailable_reason
from payments.services import direct_pix as services
from payments.views.order_page import business_order


@login_required
@require_POST
def order_pix_received(request, slug: str, order_id: int):
    """ "Pix received": the order is paid by direct Pix (staff who can see it)."""
    _business, order = business_order(request, slug, order_id)
    flash_outcome(
        request,
        lambda: services.mark_pix_received(actor=request.user, order=order),
        success=_("Order #%(number)d is paid by Pix. The customer sees it in the chat.")
        % {"number": order.number},
    )
    return redirect("order_detail", slug=slug, order_id=order.pk)


@login_required
def pix_settings(request, slug: str):
    """The owner chooses collected or direct Pix; the page says whether customers are
    offered direct Pix, and why not."""
    business = get_business_for(user=request.user, slug=slug, min_role=Membership.Role.OWNER)
    status = 200
    if request.method == "POST":
        form = PixModeForm(request.POST)
        if form.is_valid():
            try:
                services.set_pix_mode(
                    actor=request.user, business=business, mode=form.cleaned_data["pix_mode"]
                )
            except AppError as exc:
                add_form_error(form, exc)
            else:
                messages.success(request, _("Pix settings saved."))
                return redirect("pix_settings", slug=business.slug)
        status = 400
    else:
        form = PixModeForm(initial={"pix_mode": business.pix_mode})
    key = pix_key_of(business)
    response = render_dashboard(
        request,
        business,
        "balance",
        "payments/payouts/pix_settings.html",
        {"form": form, "pix_key": key, "direct_reason": unavailable_reason(business, key)},
    )
    response.status_code = status
    return response


urlpatterns = [
    path(
        "dashboard/<slug:slug>/orders/<int:order_id>/pix-received/",
        order_pix_received,
        name="order_pix_received",
    ),
    path("dashboard/<slug:slug>/balance/pix/", pix_settings, name="pix_settings"),
]
