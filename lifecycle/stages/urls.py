from django.urls import path

from lifecycle.stages import views

urlpatterns = [
    path("accounts/<int:pk>/stage/", views.stage_change, name="stage-change"),
]
