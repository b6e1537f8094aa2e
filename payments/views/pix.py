"""Collected Pix pages: the customer's Pix panel of an order (QR code, "Pix Copia e
Cola", countdown), its status for the page's poll, the provider's callback, and the
sandbox bank (public, like a payer's bank app). The work is ``services.pix``'s."""

from allauth.core.internal import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core.errors import AppError
from payments import selectors
from payments.models import Order
from payments.pix import brcode, sandbox
from payments.services import pix as pix_service


def _customer_order(request, order_id: int) -> Order:
    return selectors.get_customer_order(user=request.user, order_id=order_id)


@login_required
@require_POST
def order_pix_start(request, order_id: int):
    order = _customer_order(request, order_id)
    try:
        pix_service.start_pix(payer=request.user, order=order)
    except AppError as exc:
        messages.error(request, str(exc.message))
        return redirect("order_review", order_id=order.pk)
    return redirect("order_pix", order_id=order.pk)


@login_required
@require_GET
def order_pix(request, order_id: int):
    """The Pix panel of the order's active charge (none: back to the order's page)."""
    order = _customer_order(request, order_id)
    chat_url = reverse("chat_thread", args=[order.conversation_id])
    if order.status != Order.Status.PENDING:
        return redirect(chat_url)
    charge = pix_service.active_charge(order)
    if charge is None:
        return redirect(reverse("order_review", args=[order.pk]) + "#pix")
    context = {
        "order": order,
        "charge": charge,
        "business": order.business,
        "qr": brcode.qr_svg(charge.copy_paste),
        "chat_url": chat_url,
        "bank_url": reverse("pix_sandbox_bank") if settings.PIX_PROVIDER == "sandbox" else "",
    }
    return render(request, "payments/orders/pix.html", context)


@login_required
@require_GET
def order_pix_status(request, order_id: int):
    """The order's status for the Pix panel's poll (JSON)."""
    order = _customer_order(request, order_id)
    charge = order.pix_charges.first()
    return JsonResponse(
        {
            "order": order.status,
            "paid": order.paid_at is not None,
            "charge": charge.status if charge else "",
            "chat_url": reverse("chat_thread", args=[order.conversation_id]),
        }
    )


@csrf_exempt
@require_POST
def pix_callback(request, provider: str):
    """``POST {callback}/pix``: the provider reports received Pix. 401 when not signed
    as the provider signs, 400 when malformed, 429 past the rate limit; idempotent."""
    if provider != settings.PIX_PROVIDER:
        raise Http404
    allowed = ratelimit.consume(
        request,
        app="payments",
        action="pix_callback",
        config={"pix_callback": settings.PIX_CALLBACK_RATE_LIMIT},
    )
    if not allowed:
        return JsonResponse({"code": "rate_limited"}, status=429, headers={"Retry-After": "60"})
    try:
        records = pix_service.handle_callback(
            provider=provider, body=request.body, headers=request.headers
        )
    except AppError as exc:
        return JsonResponse({"code": exc.code, "detail": str(exc.message)}, status=exc.status_code)
    return JsonResponse({"received": len(records)})


# --- The sandbox bank --------------------------------------------------------------


def _sandbox_only() -> None:
    if settings.PIX_PROVIDER != "sandbox":
        raise Http404


def _callback_base(request) -> str:
    url = request.build_absolute_uri(reverse("pix_callback", args=["sandbox"]))
    return url.removesuffix("/pix")


def pix_sandbox_bank(request):
    """A payer's bank app, for the sandbox: paste a Pix code (or open the QR's link,
    ``?code=``), see the payee and amount, "Pay". Public, like a bank's own app."""
    _sandbox_only()
    code = (request.POST.get("code") or request.GET.get("code") or "").strip()[:1000]
    context: dict = {"code": code, "error": "", "charge": None, "paid": None}
    if code:
        try:
            context["charge"] = sandbox.find_charge(code)
        except AppError as exc:
            context["error"] = str(exc.message)
    if request.method == "POST" and request.POST.get("action") == "pay" and context["charge"]:
        try:
            paid = sandbox.pay_code(
                code=code,
                payer_name=(request.POST.get("payer_name") or "").strip()[:140],
                callback_base=_callback_base(request),
            )
        except AppError as exc:
            context["error"] = str(exc.message)
        else:
            delivered = sandbox.deliver_now(pix_id=paid.pk, callback_base=_callback_base(request))
            context["paid"] = paid
            context["delivered"] = delivered
    status = 400 if context["error"] and request.method == "POST" else 200
    if context["charge"] is not None:
        context["expired"] = sandbox.charge_expired(context["charge"])
    return render(request, "payments/pix/sandbox_bank.html", context, status=status)


urlpatterns = [
    path("orders/<int:order_id>/pix/", order_pix, name="order_pix"),
    path("orders/<int:order_id>/pix/start/", order_pix_start, name="order_pix_start"),
    path("orders/<int:order_id>/pix/status/", order_pix_status, name="order_pix_status"),
    path("pix/callback/<slug:provider>/pix", pix_callback, name="pix_callback"),
    path("pix/sandbox/bank/", pix_sandbox_bank, name="pix_sandbox_bank"),
]
