from payments.views import (
    balance,
    cart,
    direct_pix,
    orders,
    p2p,
    paying,
    payouts,
    pix,
    security,
    shipping,
    wallet,
)

urlpatterns = [
    *wallet.urlpatterns,
    *security.urlpatterns,
    *orders.urlpatterns,
    *direct_pix.urlpatterns,
    *paying.urlpatterns,
    *pix.urlpatterns,
    *balance.urlpatterns,
    *payouts.urlpatterns,
    *cart.urlpatterns,
    *p2p.urlpatterns,
    *shipping.urlpatterns,
]
