from payments.views import orders, paying, security, wallet

urlpatterns = [
    *wallet.urlpatterns,
    *security.urlpatterns,
    *orders.urlpatterns,
    *paying.urlpatterns,
]
