from django.urls import path

from . import views

urlpatterns = [
    path("outcomes/import/", views.outcome_import, name="outcome-import"),
]
