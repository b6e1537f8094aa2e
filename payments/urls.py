from payments.views import balance, cart, orders, p2p, paying, security, wallet

urlpatterns = [
    *wallet.urlpatterns,
    *security.urlpatterns,
    *orders.urlpatterns,
    *paying.urlpatterns,
    *balance.urlpatterns,
    *cart.urlpatterns,
    *p2p.urlpatterns,
]
