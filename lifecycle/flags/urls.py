"""The flag actions and the flood guard; the alerts inbox page (`alerts`) is desk's."""

from django.urls import path

from lifecycle.flags import views as views_flags

urlpatterns = [
    path("alerts/<int:pk>/acknowledge/", views_flags.flag_acknowledge, name="flag-acknowledge"),
    path("alerts/<int:pk>/snooze/", views_flags.flag_snooze, name="flag-snooze"),
    path("alerts/<int:pk>/resolve/", views_flags.flag_resolve, name="flag-resolve"),
    path("alerts/flood-guard/", views_flags.flood_guard, name="flood-guard"),
    path(
        "alerts/flood-warnings/<int:pk>/acknowledge/",
        views_flags.flood_warning_acknowledge,
        name="flood-warning-acknowledge",
    ),
]
