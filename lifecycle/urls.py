from django.urls import path

from . import views

urlpatterns = [
    path("accounts/<int:pk>/stage/", views.stage_change, name="stage-change"),
]
