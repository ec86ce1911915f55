from django.urls import path

from . import views

urlpatterns = [
    path("settings/tokens/", views.integration_tokens, name="integration-tokens"),
    path("me/tokens/", views.personal_tokens, name="personal-tokens"),
    path("tokens/<int:pk>/rotate/", views.token_rotate, name="token-rotate"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]
