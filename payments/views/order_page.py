"""The business's page of one order, which several areas' views render: the order's
own (cancel, refund: ``views/orders.py``) and shipping's (ship, deliver:
``views/shipping.py``) re-render it with their bound form and its errors. Here, below
both, so neither imports the other.

Authorization: :func:`business_order` (another business's order is "not found").
"""

from accounts.models import Membership
from accounts.views import render_dashboard
from payments import selectors
from payments.forms.refunds import RefundForm
from payments.forms.shipping import ShipForm
from payments.models import Order
from payments.services import refunds
from payments.services import shipping as shipping_services


def business_order(request, slug: str, order_id: int) -> tuple:
    return selectors.get_business_order(user=request.user, slug=slug, order_id=order_id)


def refund_context(business, order, form=None) -> dict:
    payment = refunds.refundable_payment(order)
    can_refund = (
        payment is not None
        and payment.refundable > 0
        and business.membership.role in (Membership.Role.OWNER, Membership.Role.ADMIN)
    )
    return {
        "payment": payment,
        "refunds": refunds.list_refunds(order=order),
        "can_refund": can_refund,
        "refund_form": form
        or RefundForm(currency=order.currency, initial={"attempt": refunds.new_refund_key()}),
    }


def shipping_context(order: Order, form: ShipForm | None = None) -> dict:
    """What the order page's shipping panel shows: the shipments, and the forms that
    apply to the order's status."""
    shipments = list(order.shipments.prefetch_related("items__order_item"))
    context = {"shipments": shipments, "ship_form": None, "can_deliver": False}
    if order.status in shipping_services.SHIPPABLE:
        remaining = shipping_services.remaining_quantities(order)
        context["ship_form"] = form or ShipForm(items=order.items.all(), remaining=remaining)
    context["can_deliver"] = order.status == Order.Status.SHIPPED
    return context


def render_order_detail(request, business, order, *, refund_form=None, ship_form=None, status=200):
    """The order's page; ``refund_form`` / ``ship_form``: a bound form with its errors."""
    response = render_dashboard(
        request,
        business,
        "orders",
        "payments/orders/detail.html",
        {
            "order": order,
            "items": list(order.items.all()),
            "events": list(order.events.select_related("actor")),
            "can_cancel": order.status == Order.Status.PENDING,
            **shipping_context(order, ship_form),
        }
        | refund_context(business, order, refund_form),
    )
    response.status_code = status
    return response
