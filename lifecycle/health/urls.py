from django.urls import include, path

from lifecycle.health import views

urlpatterns = [
    path("accounts/<int:pk>/health/override/", views.override_set, name="health-override-set"),
    path("accounts/<int:pk>/health/override/clear/", views.override_clear, name="health-override-clear"),
    path("", include("lifecycle.health.scorecards.urls")),
]
