from django.urls import path

from lifecycle.signals import views as views_signals

urlpatterns = [
    path("accounts/<int:pk>/check-in/", views_signals.checkin, name="checkin"),
    path("accounts/<int:pk>/pulse/", views_signals.pulse, name="pulse"),
    path("signals/import/", views_signals.signal_import, name="signal-import"),
    path("signals/export/", views_signals.signal_export, name="signal-export"),
]
