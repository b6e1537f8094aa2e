"""Shipping an order from the dashboard: mark (some of) it shipped, then delivered.

The forms sit on the order's page (``order_detail``); errors come back on it with
what was typed. Authorization as for the other order views (``business_order``:
another business's order is "not found").
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import AppError, add_form_error
from core.flash import flash_outcome
from payments.forms.shipping import ShipForm
from payments.services import shipping as services
from payments.views.order_page import business_order, render_order_detail


@login_required
@require_POST
def order_ship(request, slug: str, order_id: int):
    business, order = business_order(request, slug, order_id)
    try:
        # Before the form: on an order that cannot ship, the page shows no form to
        # hold its errors. The service checks again under the order's lock.
        services.check_shippable(order)
    except AppError as exc:
        messages.error(request, str(exc.message))
        return redirect("order_detail", slug=slug, order_id=order.pk)
    form = ShipForm(
        request.POST,
        items=order.items.all(),
        remaining=services.remaining_quantities(order),
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            shipment = services.mark_shipped(
                actor=request.user,
                order=order,
                carrier=data["carrier"],
                tracking_code=data["tracking_code"],
                tracking_url=data["tracking_url"],
                items=data["items"],
            )
        except AppError as exc:
            if exc.status_code == 409:  # the order changed meanwhile
                messages.error(request, str(exc.message))
                return redirect("order_detail", slug=slug, order_id=order.pk)
            add_form_error(form, exc)
        else:
            messages.success(
                request,
                _("Shipment %(n)d of order #%(number)d recorded; the customer is notified.")
                % {"n": shipment.number, "number": order.number},
            )
            return redirect("order_detail", slug=slug, order_id=order.pk)
    response = render_order_detail(request, business, order, ship_form=form)
    response.status_code = 400
    return response


@login_required
@require_POST
def order_deliver(request, slug: str, order_id: int):
    _business, order = business_order(request, slug, order_id)
    flash_outcome(
        request,
        lambda: services.mark_delivered(actor=request.user, order=order),
        success=_("Order #%(number)d marked delivered; the customer is notified.")
        % {"number": order.number},
    )
    return redirect("order_detail", slug=slug, order_id=order.pk)


urlpatterns = [
    path("dashboard/<slug:slug>/orders/<int:order_id>/ship/", order_ship, name="order_ship"),
    path(
        "dashboard/<slug:slug>/orders/<int:order_id>/deliver/", order_deliver, name="order_deliver"
    ),
]
