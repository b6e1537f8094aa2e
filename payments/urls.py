from payments.views import orders, wallet

urlpatterns = [*wallet.urlpatterns, *orders.urlpatterns]
