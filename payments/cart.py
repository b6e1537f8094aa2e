"""A shopper's cart, one per business, kept in the session (signed-in or not, so a
visitor can fill it before signing in to send it). Only product ids and quantities
are kept; names and prices are always read live from the catalog."""

MAX_LINES = 30
MAX_QUANTITY = 999
SESSION_KEY = "carts"


def get_cart(session, business_id: int) -> dict[int, int]:
    raw = session.get(SESSION_KEY, {}).get(str(business_id), {})
    return {int(pid): qty for pid, qty in raw.items() if str(pid).isdigit() and type(qty) is int}


def set_quantity(session, business_id: int, product_id: int, quantity: int) -> None:
    """Set one line (0 removes it); quantities are clamped to 0…999 and a cart keeps
    at most 30 lines (a new line past that is ignored)."""
    carts = session.get(SESSION_KEY, {})
    cart = dict(carts.get(str(business_id), {}))
    quantity = max(0, min(int(quantity), MAX_QUANTITY))
    if quantity == 0:
        cart.pop(str(product_id), None)
    elif str(product_id) in cart or len(cart) < MAX_LINES:
        cart[str(product_id)] = quantity
    carts[str(business_id)] = cart
    session[SESSION_KEY] = carts


def clear(session, business_id: int) -> None:
    carts = session.get(SESSION_KEY, {})
    carts.pop(str(business_id), None)
    session[SESSION_KEY] = carts
