"""Person-to-person pages: "Send money" and "Request money" from a direct chat, and a
money request's page where the friend pays it in one step. The work is
``services.p2p``'s."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from chats import selectors as chat_selectors
from core.errors import AppError, add_form_error
from core.flash import flash_outcome
from core.money import format_money, parse_money
from payments import selectors
from payments.forms.p2p import RequestMoneyForm, SendMoneyForm
from payments.forms.paying import PayForm
from payments.models import P2PLimits
from payments.services import p2p, paying, pins
from payments.services import webauthn as webauthn_service


def _direct(request, conversation_id):
    """The direct conversation and the friend in it (404 for anyone else's or a
    business chat; a block shows as an error on the page)."""
    conversation = chat_selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id
    )
    if not conversation.is_direct:
        raise Http404
    try:
        peer = p2p.peer_in(user=request.user, conversation=conversation)
    except AppError as exc:
        if exc.status_code == 404:
            raise Http404 from None
        peer = None
        messages.error(request, str(exc.message))
    return conversation, peer


def _cards(user) -> list:
    return list(selectors.list_cards(user=user))


def _confirm_context(request) -> dict:
    cards = _cards(request.user)
    limits = P2PLimits.current()
    return {
        "per_payment": format_money(limits.max_per_payment, limits.currency),
        "per_month": format_money(limits.max_sent_per_month, limits.currency),
        "cards": cards,
        "debit_cards": [c for c in cards if c.funding == "debit"],
        "has_pin": pins.has_pin(request.user),
        "has_fingerprint": webauthn_service.has_credentials(request.user),
        "limits": P2PLimits.current(),
    }


@login_required
@sensitive_post_parameters("pin")
def send_money(request, conversation_id: int):
    conversation, peer = _direct(request, conversation_id)
    currency = P2PLimits.current().currency
    context = _confirm_context(request)
    debit = context["debit_cards"]
    form = SendMoneyForm(
        request.POST or None, cards=debit, attempt=paying.new_attempt_key(), currency=currency
    )
    if request.method == "POST" and peer is not None and form.is_valid():
        data = form.cleaned_data
        try:
            card = selectors.get_card_for(user=request.user, card_id=data["card"])
            p2p.send_money(
                payer=request.user,
                conversation=conversation,
                amount=data["amount"],
                currency=currency,
                card=card,
                confirmation=data["confirmation"],
                idempotency_key=data["attempt"],
                note=data["note"],
                pin=data["pin"],
                webauthn_response=data["webauthn"],
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, _("Money sent."))
            return redirect("chat_thread", conversation_id=conversation.pk)
    if form.is_bound:
        form.data = form.data.copy()
        form.data["attempt"] = paying.new_attempt_key()
        form.data["pin"] = ""
    response = render(
        request,
        "payments/p2p/send.html",
        {"form": form, "conversation": conversation, "peer": peer, **context},
    )
    if form.is_bound:
        response.status_code = 400
    return response


@login_required
@require_POST
def send_money_fingerprint(request, conversation_id: int):
    """WebAuthn options bound to the amount typed, the currency and the friend (JSON)."""
    conversation = chat_selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id
    )
    currency = P2PLimits.current().currency
    try:
        body = json.loads(request.body or b"{}")
        amount = parse_money(
            str(body.get("amount", "")) if isinstance(body, dict) else "", currency
        )
        options = p2p.payment_options(
            payer=request.user, conversation=conversation, amount=amount, currency=currency
        )
    except ValueError:
        return JsonResponse({"error": _("Invalid request."), "code": "invalid"}, status=400)
    except AppError as exc:
        return JsonResponse({"error": str(exc.message), "code": exc.code}, status=exc.status_code)
    return JsonResponse({"options": options})


@login_required
def request_money(request, conversation_id: int):
    conversation, peer = _direct(request, conversation_id)
    currency = P2PLimits.current().currency
    form = RequestMoneyForm(request.POST or None, currency=currency)
    if request.method == "POST" and peer is not None and form.is_valid():
        data = form.cleaned_data
        try:
            p2p.request_money(
                requester=request.user,
                conversation=conversation,
                amount=data["amount"],
                currency=currency,
                note=data["note"],
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, _("Request sent."))
            return redirect("chat_thread", conversation_id=conversation.pk)
    response = render(
        request,
        "payments/p2p/request.html",
        {"form": form, "conversation": conversation, "peer": peer},
    )
    if form.is_bound:
        response.status_code = 400
    return response


def _money_request(request, request_id):
    try:
        return p2p.get_money_request_for(user=request.user, request_id=request_id)
    except AppError:
        raise Http404 from None


@login_required
@sensitive_post_parameters("pin")
def money_request(request, request_id: int):
    """A request's page; its payer reviews and pays it here (POST)."""
    money_request = _money_request(request, request_id)
    context = _confirm_context(request)
    form = PayForm(
        request.POST or None, cards=context["debit_cards"], attempt=paying.new_attempt_key()
    )
    is_payer = money_request.payer_id == request.user.pk
    if request.method == "POST":
        if not is_payer:
            raise Http404
        if form.is_valid():
            data = form.cleaned_data
            try:
                card = selectors.get_card_for(user=request.user, card_id=data["card"])
                p2p.pay_money_request(
                    payer=request.user,
                    money_request=money_request,
                    card=card,
                    confirmation=data["confirmation"],
                    idempotency_key=data["attempt"],
                    pin=data["pin"],
                    webauthn_response=data["webauthn"],
                )
            except AppError as exc:
                add_form_error(form, exc)
            else:
                messages.success(request, _("Paid."))
                return redirect("chat_thread", conversation_id=money_request.conversation_id)
        form.data = form.data.copy()
        form.data["attempt"] = paying.new_attempt_key()
        form.data["pin"] = ""
    response = render(
        request,
        "payments/p2p/money_request.html",
        {
            "money_request": money_request,
            "form": form,
            "is_payer": is_payer,
            "back_url": reverse("chat_thread", args=[money_request.conversation_id]),
            **context,
        },
    )
    if form.is_bound:
        response.status_code = 400
    return response


@login_required
@require_POST
def money_request_fingerprint(request, request_id: int):
    money_request = _money_request(request, request_id)
    if money_request.payer_id != request.user.pk:
        raise Http404
    try:
        options = p2p.payment_options(
            payer=request.user,
            conversation=money_request.conversation,
            amount=money_request.amount,
            currency=money_request.currency,
        )
    except AppError as exc:
        return JsonResponse({"error": str(exc.message), "code": exc.code}, status=exc.status_code)
    return JsonResponse({"options": options})


@login_required
@require_POST
def money_request_close(request, request_id: int):
    money_request = _money_request(request, request_id)
    closed = flash_outcome(
        request,
        lambda: p2p.close_money_request(actor=request.user, money_request=money_request),
        success=_("The request is closed."),
    )
    if closed:
        return redirect("chat_thread", conversation_id=money_request.conversation_id)
    return redirect("money_request", request_id=money_request.pk)


urlpatterns = [
    path("chats/<int:conversation_id>/send-money/", send_money, name="p2p_send"),
    path(
        "chats/<int:conversation_id>/send-money/fingerprint/",
        send_money_fingerprint,
        name="p2p_send_fingerprint",
    ),
    path("chats/<int:conversation_id>/request-money/", request_money, name="p2p_request"),
    path("money-requests/<int:request_id>/", money_request, name="money_request"),
    path(
        "money-requests/<int:request_id>/pay/fingerprint/",
        money_request_fingerprint,
        name="money_request_fingerprint",
    ),
    path("money-requests/<int:request_id>/close/", money_request_close, name="money_request_close"),
]
