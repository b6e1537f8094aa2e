"""Paying an order from its review page: a saved card, the PIN or a fingerprint,
and the sandbox's 3-D Secure round trip. The work is ``services.paying``'s."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.models import PixMode
from chats.models import ConsentSource, Contact
from chats.services import consent
from core.errors import AppError, add_form_error
from payments import selectors
from payments.forms.paying import PayForm
from payments.models import Order, Payment
from payments.services import paying, pins
from payments.services import webauthn as webauthn_service


def _customer_order(request, order_id: int) -> Order:
    return selectors.get_customer_order(user=request.user, order_id=order_id)


def pay_context(request, order: Order, form: PayForm | None = None) -> dict:
    """What the review page's pay section needs (for the customer of a pending order)."""
    cards = list(selectors.list_cards(user=request.user))
    if form is None:
        form = PayForm(cards=cards, attempt=paying.new_attempt_key())
        chosen = request.GET.get("card", "")  # a card just added from this page
        if any(str(card.pk) == chosen for card in cards):
            form.fields["card"].initial = int(chosen)
    return {
        "pay_form": form,
        "cards": cards,
        "has_pin": pins.has_pin(request.user),
        "has_fingerprint": webauthn_service.has_credentials(request.user),
        "pix_enabled": order.business.pix_mode == PixMode.COLLECTED,
    }


@login_required
@require_POST
@sensitive_post_parameters("pin")
def order_pay(request, order_id: int):
    order = _customer_order(request, order_id)
    cards = list(selectors.list_cards(user=request.user))
    form = PayForm(request.POST, cards=cards, attempt="")
    if form.is_valid():
        data = form.cleaned_data
        try:
            # The form accepts only these live cards of the user's (get_card_for's rule).
            card = next(c for c in cards if c.pk == data["card"])
            payment = paying.pay_order(
                payer=request.user,
                order=order,
                card=card,
                confirmation=data["confirmation"],
                idempotency_key=data["attempt"],
                pin=data["pin"],
                webauthn_response=data["webauthn"],
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            if data["offers"]:
                _consent_to_offers(request, order)
            return _after(request, order, payment)
    # A new one-time token for the next try (a decline ends its attempt).
    form.data = form.data.copy()
    form.data["attempt"] = paying.new_attempt_key()
    form.data["pin"] = ""
    items = list(order.items.all())
    back = reverse("chat_thread", args=[order.conversation_id])
    context = {"order": order, "items": items, "back_url": back} | pay_context(request, order, form)
    return render(request, "payments/orders/review.html", context, status=400)


def _consent_to_offers(request, order: Order) -> None:
    """The pay form's optional "send me offers" box: consent recorded on the contact."""
    contact = Contact.objects.filter(conversation__pk=order.conversation_id).first()
    if contact is not None and contact.user_id == request.user.pk:
        consent.grant_offers_consent(
            customer=request.user, contact=contact, source=ConsentSource.PAYMENT
        )


def _after(request, order: Order, payment: Payment):
    if payment.status == Payment.Status.PENDING:
        url = paying.action_url(payment)
        back = reverse("order_pay_return", args=[order.pk, payment.pk])
        if url:
            return redirect(f"{url}?{urlencode({'next': back})}")
    messages.success(request, _("Paid. The receipt is in your chat."))
    return redirect("chat_thread", conversation_id=order.conversation_id)


@login_required
def order_pay_return(request, order_id: int, payment_id: int):
    """Back from the bank's 3-D Secure page: settle the payment as the gateway has it."""
    order = _customer_order(request, order_id)
    payment = get_object_or_404(Payment, pk=payment_id, order=order, payer=request.user)
    try:
        payment = paying.resume_payment(payer=request.user, payment=payment)
    except AppError as exc:
        messages.error(request, str(exc.message))
        return redirect("order_review", order_id=order.pk)
    if payment.status == Payment.Status.PENDING:
        messages.info(request, _("The bank has not confirmed the payment yet."))
        return redirect("order_review", order_id=order.pk)
    return _after(request, order, payment)


@login_required
@require_POST
def order_pay_fingerprint(request, order_id: int):
    """The WebAuthn options for confirming this order's payment (JSON)."""
    order = _customer_order(request, order_id)
    try:
        options = webauthn_service.payment_options(
            user=request.user,
            order=order,
            amount=order.total,
            currency=order.currency,
            payee=paying.payee_of(order),
        )
    except AppError as exc:
        return JsonResponse({"error": str(exc.message), "code": exc.code}, status=exc.status_code)
    return JsonResponse({"options": options})


urlpatterns = [
    path("orders/<int:order_id>/pay/", order_pay, name="order_pay"),
    path(
        "orders/<int:order_id>/pay/fingerprint/",
        order_pay_fingerprint,
        name="order_pay_fingerprint",
    ),
    path(
        "orders/<int:order_id>/pay/return/<int:payment_id>/",
        order_pay_return,
        name="order_pay_return",
    ),
]
