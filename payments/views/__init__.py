"""HTML views of the payments app, one module per area; ``payments/urls.py`` joins
their ``urlpatterns``."""
