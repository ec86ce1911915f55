from django.urls import include, path

from . import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/bell/", views.bell, name="notifications-bell"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications-read-all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-read"),
    path("notifications/subscriptions/", views.subscription_list, name="subscriptions"),
    path("notifications/subscriptions/<int:pk>/", views.subscription_edit, name="subscription-edit"),
    path("notifications/subscriptions/<int:pk>/delete/", views.subscription_delete, name="subscription-delete"),
    path("notifications/deliveries/failed/", views.delivery_failed_list, name="deliveries-failed"),
    path("notifications/deliveries/<int:pk>/retry/", views.delivery_retry, name="delivery-retry"),
    path("", include("notifications.webhooks.urls")),
]
