from payments.views import orders, security, wallet

urlpatterns = [*wallet.urlpatterns, *security.urlpatterns, *orders.urlpatterns]
