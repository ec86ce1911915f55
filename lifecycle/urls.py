from django.urls import path

from . import views, views_health

urlpatterns = [
    path("accounts/<int:pk>/stage/", views.stage_change, name="stage-change"),
    path("accounts/<int:pk>/health/override/", views_health.override_set, name="health-override-set"),
    path("accounts/<int:pk>/health/override/clear/", views_health.override_clear, name="health-override-clear"),
]
