from payments.views import balance, cart, orders, paying, security, shipping, wallet

urlpatterns = [
    *wallet.urlpatterns,
    *security.urlpatterns,
    *orders.urlpatterns,
    *paying.urlpatterns,
    *balance.urlpatterns,
    *cart.urlpatterns,
    *shipping.urlpatterns,
]
