"""The shop's cart: a visitor fills it from product pages, signs in and sends it into
the chat with the business, where the merchant turns it into a payment request."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from accounts.selectors import get_public_business
from catalog.selectors import active_products
from core.errors import AppError
from core.ids import parse_int
from payments import cart
from payments.services import orders


def _quantity(value) -> int:
    try:
        return max(0, min(int(value), cart.MAX_QUANTITY))
    except (TypeError, ValueError):
        return 0


def cart_page(request, slug: str):
    """GET shows the cart (``?add=<product id>`` offers that product); POST adds,
    updates or sends it."""
    business = get_public_business(slug=slug)
    products = active_products(business=business)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add":
            product = products.filter(
                pk=parse_int(request.POST.get("product"), minimum=1) or 0
            ).first()
            if product is not None:
                current = cart.get_cart(request.session, business.pk).get(product.pk, 0)
                quantity = current + max(1, _quantity(request.POST.get("quantity")))
                cart.set_quantity(request.session, business.pk, product.pk, quantity)
                messages.success(
                    request, _("%(product)s is in your cart.") % {"product": product.name}
                )
        elif action == "update":
            for product_id in cart.get_cart(request.session, business.pk):
                quantity = _quantity(request.POST.get(f"qty_{product_id}"))
                cart.set_quantity(request.session, business.pk, product_id, quantity)
            messages.success(request, _("Cart updated."))
        elif action == "send":
            if not request.user.is_authenticated:
                return redirect_to_login(request.path)
            try:
                message = orders.send_cart(
                    customer=request.user,
                    business=business,
                    quantities=cart.get_cart(request.session, business.pk),
                )
            except AppError as exc:
                messages.error(request, str(exc.message))
            else:
                cart.clear(request.session, business.pk)
                messages.success(
                    request,
                    _("Your cart is in the chat: the shop will send you a payment request."),
                )
                return redirect("chat_thread", conversation_id=message.conversation_id)
        return redirect("shop_cart", slug=slug)
    quantities = cart.get_cart(request.session, business.pk)
    lines = [
        {"product": p, "quantity": quantities[p.pk], "total": p.price * quantities[p.pk]}
        for p in products.filter(pk__in=quantities).prefetch_related("photos")
    ]
    offer = products.filter(pk=parse_int(request.GET.get("add"), minimum=1) or 0).first()
    return render(
        request,
        "payments/cart.html",
        {
            "business": business,
            "lines": lines,
            "total": sum(line["total"] for line in lines),
            "offer": offer,
        },
    )


urlpatterns = [path("s/<slug:slug>/cart/", cart_page, name="shop_cart")]
