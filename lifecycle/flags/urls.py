"""The flag actions; the alerts inbox page (`alerts`) is desk's."""

from django.urls import path

from lifecycle.flags import views as views_flags

urlpatterns = [
    path("alerts/<int:pk>/acknowledge/", views_flags.flag_acknowledge, name="flag-acknowledge"),
    path("alerts/<int:pk>/snooze/", views_flags.flag_snooze, name="flag-snooze"),
    path("alerts/<int:pk>/resolve/", views_flags.flag_resolve, name="flag-resolve"),
]
