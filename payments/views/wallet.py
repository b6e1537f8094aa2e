"""The wallet's cards: list, add, set default, remove; and the sandbox gateway's
3-D Secure challenge page. Parse, authorize (the selectors scope by the user), call
one service, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from core.errors import AppError, add_form_error
from core.http import next_url
from payments import selectors
from payments.forms.cards import CardForm
from payments.gateway import get_gateway
from payments.services import cards as card_services


def _url_or_path(name: str, fallback: str) -> str:
    """Links to wallet pages another part of the app serves, while they may not exist."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


@sensitive_post_parameters("number", "cvc")
@login_required
def wallet(request):
    """The cards, and the add-card form (POST here adds one). Reached from a payment
    (``next``: the pay page), a new card takes the customer back there, selected."""
    form = CardForm(request.POST or None)
    after = next_url(request, "")
    if request.method == "POST" and form.is_valid():
        try:
            card = card_services.add_card(
                user=request.user,
                details=form.card_details(),
                make_default=form.cleaned_data["make_default"],
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(
                request,
                _("%(card)s was added to your wallet.") % {"card": card},
            )
            if after:
                return redirect(f"{after}?{urlencode({'card': card.pk})}#pay")
            return redirect("wallet")
    return render(
        request,
        "payments/wallet/wallet.html",
        {
            "form": form,
            "next": after,
            "sandbox": get_gateway().name == "sandbox",
            "cards": selectors.list_cards(user=request.user),
            "wallet_balance": selectors.wallet_balance(user=request.user),
            "pin_url": _url_or_path("wallet_pin", "/wallet/pin/"),
            "fingerprints_url": _url_or_path("wallet_fingerprints", "/wallet/fingerprints/"),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def card_set_default(request, card_id: int):
    card = selectors.get_card_for(user=request.user, card_id=card_id)
    card_services.set_default_card(user=request.user, card=card)
    messages.success(request, _("%(card)s is now your default card.") % {"card": card})
    return redirect("wallet")


@login_required
@require_POST
def card_remove(request, card_id: int):
    card = selectors.get_card_for(user=request.user, card_id=card_id)
    card_services.remove_card(user=request.user, card=card)
    messages.success(request, _("%(card)s was removed.") % {"card": card})
    return redirect("wallet")


@login_required
def sandbox_3ds(request, reference: str):
    """The sandbox gateway's stand-in for the bank's 3-D Secure page: "Complete" or
    "Fail" decides the charge, then the customer returns to ``next`` (a local address
    only; the wallet otherwise). The reference is the capability: random, and known
    only to whoever started the charge. 404 when the sandbox is not the gateway."""
    if settings.PAYMENT_GATEWAY != "sandbox":
        raise Http404
    gateway = get_gateway()
    after = next_url(request, reverse("wallet"))
    if request.method == "POST":
        approve = request.POST.get("decision") == "complete"
        try:
            result = gateway.complete_action(reference=reference, approve=approve)
        except AppError as exc:
            if exc.code == "charge_unknown":
                raise Http404 from None
            raise
        if result.status == "succeeded":
            messages.success(request, _("Payment authenticated."))
        else:
            messages.error(request, result.failure_message or _("Authentication failed."))
        return redirect(after)
    try:
        gateway.retrieve(reference)
    except AppError:
        raise Http404 from None
    return render(
        request,
        "payments/wallet/sandbox_3ds.html",
        {"reference": reference, "next_url": after},
    )


urlpatterns = [
    path("wallet/", wallet, name="wallet"),
    path("wallet/cards/<int:card_id>/default/", card_set_default, name="wallet_card_default"),
    path("wallet/cards/<int:card_id>/remove/", card_remove, name="wallet_card_remove"),
    path("wallet/sandbox-3ds/<str:reference>/", sandbox_3ds, name="wallet_sandbox_3ds"),
]
