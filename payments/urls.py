from payments.views import balance, cart, orders, paying, security, wallet

urlpatterns = [
    *wallet.urlpatterns,
    *security.urlpatterns,
    *orders.urlpatterns,
    *paying.urlpatterns,
    *balance.urlpatterns,
    *cart.urlpatterns,
]
