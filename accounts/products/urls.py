from django.urls import path

from . import views

urlpatterns = [
    path("products/", views.product_list, name="product-list"),
    path("products/new/", views.product_create, name="product-create"),
    path("products/<int:pk>/edit/", views.product_edit, name="product-edit"),
    path("products/<int:pk>/delete/", views.product_delete, name="product-delete"),
    path("accounts/<int:pk>/entitlements/new/", views.entitlement_create, name="entitlement-create"),
    path("accounts/<int:pk>/entitlements/<int:entitlement_pk>/edit/", views.entitlement_edit, name="entitlement-edit"),
    path("accounts/<int:pk>/entitlements/<int:entitlement_pk>/end/", views.entitlement_end, name="entitlement-end"),
    path(
        "accounts/<int:pk>/entitlements/<int:entitlement_pk>/delete/",
        views.entitlement_delete,
        name="entitlement-delete",
    ),
]
