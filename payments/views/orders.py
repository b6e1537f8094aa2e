"""Orders (payment requests): the merchant composes one from the inbox, lists and
cancels and refunds them in the dashboard; the customer reviews one (paying it is
``views/paying.py``).

Each view parses, authorizes through a selector (``get_business_for``,
``get_conversation_for``, ``get_order_for``), calls one service and renders.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from catalog.selectors import list_pickable_products
from chats import selectors as chat_selectors
from chats.models import Message
from core.errors import AppError, add_form_error
from core.flash import flash_outcome
from payments import selectors
from payments.forms.orders import PaymentRequestForm
from payments.forms.refunds import RefundForm
from payments.models import Order
from payments.pix.direct import attach_direct_pix
from payments.services import orders as services
from payments.services import refunds
from payments.views.order_page import business_order, render_order_detail
from payments.views.paying import pay_context

PAGE = 50


def _products(business):
    return list_pickable_products(business=business)


def _from_cart(conversation, message_id) -> dict:
    """The quantities of a cart the customer sent in this conversation, as the form's
    initial values ("one click" from the cart card; the merchant adds shipping)."""
    if not str(message_id or "").isdigit():
        return {}
    message = Message.objects.filter(
        pk=int(message_id), conversation=conversation, kind="cart"
    ).first()
    if message is None:
        return {}
    return {f"qty_{line['product_id']}": line["quantity"] for line in services.cart_lines(message)}


@login_required
def request_payment(request, slug: str, conversation_id: int):
    """Compose a payment request for the conversation's customer. The inbox panel
    posts here; errors come back on this page with what was typed."""
    business = get_business_for(user=request.user, slug=slug)
    conversation = chat_selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id, as_staff_of=business
    )
    form = PaymentRequestForm(
        request.POST if request.method == "POST" else None,
        products=_products(business),
        currency=business.currency,
        initial=_from_cart(conversation, request.GET.get("cart")),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = services.create_payment_request(
                actor=request.user,
                conversation=conversation,
                lines=data["lines"],
                shipping=data["shipping"],
                discount=data["discount"],
                note=data["note"],
                expires_in=datetime.timedelta(hours=data["expires_hours"]),
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(
                request, _("Payment request #%(number)d sent.") % {"number": order.number}
            )
            return redirect("inbox_thread", slug=slug, conversation_id=conversation.pk)
    response = render_dashboard(
        request,
        business,
        "inbox",
        "payments/orders/request.html",
        {"form": form, "conversation": conversation, "customer": conversation.contact.user},
    )
    if form.is_bound:
        response.status_code = 400
    return response


@login_required
def orders(request, slug: str):
    """The business's orders, newest first, filtered by status."""
    business = get_business_for(user=request.user, slug=slug)
    status = request.GET.get("status", "")
    if status not in Order.Status.values:
        status = ""
    qs = selectors.list_orders_for_business(
        business=business, status=status, membership=business.membership
    )
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render_dashboard(
        request,
        business,
        "orders",
        "payments/orders/list.html",
        {"page": page, "status": status, "statuses": Order.Status.choices},
    )


@login_required
def order_detail(request, slug: str, order_id: int):
    business, order = business_order(request, slug, order_id)
    return render_order_detail(request, business, order)


@login_required
@require_POST
def order_refund(request, slug: str, order_id: int):
    """Refund part or all of the order (owners and admins; the service checks)."""
    business, order = business_order(request, slug, order_id)
    form = RefundForm(request.POST, currency=order.currency)
    if form.is_valid() and form.cleaned_data["amount"] is not None:
        data = form.cleaned_data
        try:
            refund = refunds.refund_order(
                actor=request.user,
                order=order,
                amount=data["amount"],
                reason=data["reason"],
                idempotency_key=data["attempt"],
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            if refund.status == refund.Status.PENDING:
                messages.info(
                    request, _("The refund is on its way: the card network has not answered yet.")
                )
            else:
                messages.success(request, _("Refunded. The customer sees it in the chat."))
            return redirect("order_detail", slug=slug, order_id=order.pk)
    form.data = form.data.copy()
    form.data["attempt"] = refunds.new_refund_key()
    return render_order_detail(request, business, order, refund_form=form, status=400)


@login_required
@require_POST
def order_cancel(request, slug: str, order_id: int):
    _business, order = business_order(request, slug, order_id)
    flash_outcome(
        request,
        lambda: services.cancel_order(actor=request.user, order=order),
        success=_("Order #%(number)d canceled.") % {"number": order.number},
    )
    return redirect("order_detail", slug=slug, order_id=order.pk)


@login_required
def order_review(request, order_id: int):
    """The customer's page for one order (staff who can see it too): items, totals,
    status, and where paying happens."""
    order = selectors.get_order_for(user=request.user, order_id=order_id)
    if order.membership is not None:
        back = reverse("inbox_thread", args=[order.business.slug, order.conversation_id])
    else:
        back = reverse("chat_thread", args=[order.conversation_id])
    context = {"order": order, "items": list(order.items.all()), "back_url": back}
    if order.customer_id == request.user.pk and order.status == Order.Status.PENDING:
        context |= pay_context(request, order)
        attach_direct_pix([order])  # the static code, when the business takes direct Pix
    return render(request, "payments/orders/review.html", context)


urlpatterns = [
    path(
        "dashboard/<slug:slug>/inbox/<int:conversation_id>/request-payment/",
        request_payment,
        name="request_payment",
    ),
    path("dashboard/<slug:slug>/orders/", orders, name="orders"),
    path("dashboard/<slug:slug>/orders/<int:order_id>/", order_detail, name="order_detail"),
    path("dashboard/<slug:slug>/orders/<int:order_id>/cancel/", order_cancel, name="order_cancel"),
    path("dashboard/<slug:slug>/orders/<int:order_id>/refund/", order_refund, name="order_refund"),
    path("orders/<int:order_id>/", order_review, name="order_review"),
]
