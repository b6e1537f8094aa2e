from django.urls import path

from catalog import views

urlpatterns = [
    path("s/<slug:slug>/", views.shop, name="business_profile"),
    path("s/<slug:slug>/p/<int:product_id>/", views.product_detail, name="product_detail"),
]
