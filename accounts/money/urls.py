from django.urls import path

from . import views

urlpatterns = [
    path("settings/exchange-rates/", views.rate_list, name="exchange-rate-list"),
    path("settings/exchange-rates/import/", views.rate_import, name="exchange-rate-import"),
    path("settings/exchange-rates/<int:pk>/edit/", views.rate_edit, name="exchange-rate-edit"),
    path("settings/exchange-rates/<int:pk>/delete/", views.rate_delete, name="exchange-rate-delete"),
]
