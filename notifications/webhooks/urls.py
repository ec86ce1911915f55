from django.urls import path

from . import views

urlpatterns = [
    path("settings/webhooks/", views.endpoint_list, name="webhook-list"),
    path("settings/webhooks/new/", views.endpoint_create, name="webhook-create"),
    path("settings/webhooks/<int:pk>/", views.endpoint_detail, name="webhook-detail"),
    path("settings/webhooks/<int:pk>/edit/", views.endpoint_edit, name="webhook-edit"),
    path("settings/webhooks/<int:pk>/delete/", views.endpoint_delete, name="webhook-delete"),
    path("settings/webhooks/<int:pk>/rotate-secret/", views.endpoint_rotate_secret, name="webhook-rotate-secret"),
    path("settings/webhooks/<int:pk>/test/", views.endpoint_test, name="webhook-test"),
    path("settings/webhooks/<int:pk>/pause/", views.endpoint_pause, name="webhook-pause"),
    path("settings/webhooks/<int:pk>/resume/", views.endpoint_resume, name="webhook-resume"),
    path("settings/webhooks/deliveries/<int:pk>/retry/", views.delivery_retry, name="webhook-delivery-retry"),
]
